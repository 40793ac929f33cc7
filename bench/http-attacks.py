#!/usr/bin/env python3
"""Replays issue 15's attacks against a dialplane binary on 127.0.0.1 and prints what happened.

    bench/http-attacks.py [--bin build/dialplane] [--port-base 28250] [--only trailer,emfile,slowloris]

Starts its own dialplane (no Redis needed: /healthz and the parsers do not use it) on port-base (internal),
+1 (api), +2 (metrics), and stops it afterwards. Loopback only, bounded (about 2 minutes in all).

* trailer:   a chunked request whose trailer field is 65,534 bytes, on the api (without and with the API
             key) and internal ports; then
             whether the process is alive and /healthz answers.
* emfile:    dialplane under `prlimit --nofile=128`, 300 connections: accept() fails with EMFILE. Reports
             the CPU the process burns and the http_accept_failed log lines over 10 s.
* slowloris: 3,000 connections per listener (internal, api, metrics) that send a partial request line and
             then one byte every 10 s, for 30 s; /metrics and /healthz are timed every second meanwhile.
             Reports how many probes answered, the slowest, and RSS before, during and after.
"""
import argparse
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time

HOST = "127.0.0.1"


def start(binary, base, fd_limit=None):
    log = tempfile.NamedTemporaryFile(prefix="dp-attack-", suffix=".log", delete=False)
    cmd = [binary, "--internal-listen", f"{HOST}:{base}", "--api-listen", f"{HOST}:{base + 1}",
           "--metrics-listen", f"{HOST}:{base + 2}", "--redis-port", str(base + 9), "--api-key", "k"]
    if fd_limit:
        cmd = ["prlimit", f"--nofile={fd_limit}:{fd_limit}", "--"] + cmd
    proc = subprocess.Popen(cmd, stdout=log, stderr=log)
    for _ in range(100):
        if probe(base, "/healthz", 0.2)[0] == 200:
            break
        time.sleep(0.05)
    return proc, log.name


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait()


def probe(port, path, timeout):
    """(status or 0, seconds) of one GET on a new connection."""
    started = time.monotonic()
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.") else 0
    except OSError:
        status = 0
    return status, time.monotonic() - started


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def trailer(args):
    proc, log = start(args.bin, args.port_base)
    head = b"POST /v1/Accounts HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
    tail = b"\r\n0\r\nX: " + b"a" * 65534 + b"\r\n\r\n"
    key = b"Authorization: Bearer k\r\nContent-Type: application/json\r\n"
    for name, port, bomb in (("api", args.port_base + 1, head + tail), ("api+key", args.port_base + 1, head + key + tail),
                             ("internal", args.port_base, head + tail)):
        answer = b""
        try:
            with socket.create_connection((HOST, port), timeout=3) as s:
                s.settimeout(3)
                s.sendall(bomb)
                answer = s.recv(200)
        except OSError as e:
            answer = repr(e).encode()
        time.sleep(0.3)
        alive = proc.poll() is None
        first_line = answer.split(b"\r\n")[0].decode(errors="replace")
        print(f"trailer/{name}: answer={first_line!r} "
              f"process_alive={alive} healthz={probe(args.port_base, '/healthz', 2)[0]}")
        if not alive:
            break
    stop(proc)
    with open(log) as f:
        fatal = [line.strip() for line in f if "fatal" in line or "length_error" in line or "too large" in line]
    print(f"trailer: log lines mentioning the failure: {fatal[:3]}")
    os.unlink(log)


def emfile(args):
    proc, log = start(args.bin, args.port_base, fd_limit=128)
    socks = []
    for _ in range(300):
        try:
            socks.append(socket.create_connection((HOST, args.port_base), timeout=1))
        except OSError:
            break
    time.sleep(1)
    c0 = cpu_seconds(proc.pid)
    with open(log) as f:
        lines0 = sum("http_accept_failed" in line for line in f)
    time.sleep(10)
    c1 = cpu_seconds(proc.pid)
    with open(log) as f:
        lines1 = sum("http_accept_failed" in line for line in f)
    size = os.path.getsize(log)
    for s in socks:
        s.close()
    time.sleep(1.5)
    after = probe(args.port_base, "/healthz", 3)[0]
    stop(proc)
    os.unlink(log)
    print(f"emfile: {len(socks)} connections open; over 10 s: cpu={100 * (c1 - c0) / 10:.0f}% "
          f"http_accept_failed lines={lines1 - lines0} log={size / 1e6:.1f} MB; healthz after closing={after}")


def slowloris(args):
    proc, log = start(args.bin, args.port_base)
    time.sleep(0.5)
    rss0 = rss_mb(proc.pid)
    socks = []
    offsets = {"internal": 0, "api": 1, "metrics": 2}
    for port in (args.port_base + offsets[name] for name in args.flood.split(",")):
        for _ in range(3000):
            try:
                s = socket.socket()
                s.setblocking(False)
                s.connect_ex((HOST, port))
                socks.append(s)
            except OSError:
                break
    time.sleep(0.5)
    for s in socks:
        try:
            s.send(b"GET / HTTP/1.1\r\nX-a: ")
        except OSError:
            pass
    results = {"/metrics": [], "/healthz": []}
    rss_peak = 0.0
    end = time.monotonic() + 30
    tick = 0
    while time.monotonic() < end:
        results["/metrics"].append(probe(args.port_base + 2, "/metrics", 5))
        results["/healthz"].append(probe(args.port_base, "/healthz", 5))
        rss_peak = max(rss_peak, rss_mb(proc.pid))
        tick += 1
        if tick % 10 == 0:  # one more byte every ~10 s on every slow connection
            for s in socks:
                try:
                    s.send(b"a")
                except OSError:
                    pass
        time.sleep(1)
    for s in socks:
        s.close()
    time.sleep(3)
    rss_after = rss_mb(proc.pid)
    alive = proc.poll() is None
    stop(proc)
    os.unlink(log)
    for path, rs in results.items():
        ok = [t for st, t in rs if st == 200]
        print(f"slowloris{path}: {len(ok)}/{len(rs)} probes answered 200, slowest "
              f"{max((t for _, t in rs), default=0):.2f} s")
    print(f"slowloris: {len(socks)} connections; RSS before {rss0:.1f} MB, peak {rss_peak:.1f} MB, "
          f"3 s after closing {rss_after:.1f} MB; process alive={alive}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="build/dialplane")
    ap.add_argument("--port-base", type=int, default=28250)
    ap.add_argument("--only", default="trailer,emfile,slowloris")
    ap.add_argument("--flood", default="internal,api,metrics", help="listeners the slowloris test floods")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 20000), hard))
    for name in args.only.split(","):
        {"trailer": trailer, "emfile": emfile, "slowloris": slowloris}[name](args)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
