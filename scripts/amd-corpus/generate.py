#!/usr/bin/env python3
"""Synthetic answering-machine corpus for the embedded AMD (docs/amd.md), reproducible byte for byte.

Each clip is what the detector hears from the answer on: leading silence, a human answer or a machine
greeting spoken by espeak-ng or flite, for machines optionally a beep (440-1800 Hz, 200-1000 ms), then silence;
background noise at -55...-35 dBFS, a G.711 mu-law round trip, 8 kHz mono 16-bit WAV. Every random choice comes
from random.Random seeded with (seed, split, clip index), so clip i is the same whatever --limit is.

The two splits, `tune` and `report`, share no voice and no text (texts.json): tune on one, publish the other.

Usage: generate.py OUT_DIR [--split tune|report|all] [--clips N] [--limit N] [--seed S] [--noise-db LO,HI]
                   [--manifest FILE --write-manifest | --check FILE]
Writes OUT_DIR/<split>/NNN.wav and OUT_DIR/<split>/labels.tsv (file, truth, beep, text, voice).
Needs: python3 (stdlib), espeak-ng, flite, sox.
"""
import argparse
import hashlib
import json
import math
import os
import random
import struct
import subprocess
import sys
import tempfile
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
RATE = 8000
DEFAULT_SEED = 20261202
DEFAULT_CLIPS = 80


def ulaw_round_trip(x):
    """One sample through G.711 mu-law and back (the ITU segment layout; what a PCMU leg does to audio)."""
    sign = 0x80 if x < 0 else 0
    mag = min(-x if x < 0 else x, 32635) + 0x84
    exp = max(0, (mag >> 7).bit_length() - 1)
    mant = (mag >> (exp + 3)) & 0x0F
    code = ~(sign | (exp << 4) | mant) & 0xFF
    u = ~code & 0xFF
    t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return (0x84 - t) if u & 0x80 else (t - 0x84)


def tts(engine, voice, variant, text, speed, tmpdir):
    """Speech as 8 kHz 16-bit samples (list of int), peak-normalised by sox to -1 dBFS."""
    raw_wav = os.path.join(tmpdir, "tts.wav")
    if engine == "espeak":
        subprocess.run(["espeak-ng", "-v", f"{voice}+{variant}", "-s", str(speed), "-w", raw_wav, text],
                       check=True, stdout=subprocess.DEVNULL)
    else:
        stretch = f"{160 / speed:.3f}"
        subprocess.run(["flite", "-voice", voice, "--setf", f"duration_stretch={stretch}", "-t", text, "-o",
                        raw_wav], check=True, stdout=subprocess.DEVNULL)
    # -R: no randomness (dither seeds); -D: no dither at all. Deterministic output.
    out = subprocess.run(["sox", "-R", "-D", raw_wav, "-t", "raw", "-e", "signed", "-b", "16", "-c", "1", "-r",
                          str(RATE), "-", "norm", "-1"], check=True, capture_output=True).stdout
    return list(struct.unpack(f"<{len(out) // 2}h", out))


def beep(rng):
    hz = rng.randint(440, 1800)
    ms = rng.randint(200, 1000)
    amp = 32767 * 10 ** (rng.uniform(-16, -6) / 20)
    n = ms * RATE // 1000
    ramp = 40  # 5 ms fade in/out, as real beeps have
    return hz, ms, [amp * min(1.0, i / ramp, (n - i) / ramp) * math.sin(2 * math.pi * hz * i / RATE)
                    for i in range(n)]


NOISE_DB = (-55, -35)


def clip_plan(rng, texts, index):
    machine = index % 2 == 1  # alternate: half humans, half machines
    voice = rng.choice(texts["voices"])
    text = rng.choice(texts["machine" if machine else "human"])
    return {
        "machine": machine,
        "voice": voice,
        "text": text,
        "speed": rng.randint(140, 185),
        "lead_ms": rng.randint(300, 2000) if machine else rng.randint(200, 1500),
        "speech_db": rng.uniform(-14, -3),
        "noise_db": rng.uniform(*NOISE_DB),
        "beep": machine and rng.random() < 0.6,
    }


def render(plan, rng, tmpdir):
    speech = tts(*plan["voice"], plan["text"], plan["speed"], tmpdir)
    gain = 10 ** ((plan["speech_db"] + 1) / 20)
    samples = [0.0] * (plan["lead_ms"] * RATE // 1000) + [s * gain for s in speech]
    beep_info = None
    if plan["beep"]:
        samples += [0.0] * (rng.randint(150, 700) * RATE // 1000)
        hz, ms, tone = beep(rng)
        samples += tone
        beep_info = (hz, ms)
    samples += [0.0] * (3 * RATE)  # the line after the greeting: the detector needs silence to decide
    noise_rms = 32767 * 10 ** (plan["noise_db"] / 20)
    out = []
    for s in samples:
        v = int(round(s + rng.gauss(0.0, noise_rms)))
        out.append(ulaw_round_trip(max(-32768, min(32767, v))))
    return out, beep_info


def write_wav(path, samples):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(struct.pack(f"<{len(samples)}h", *samples))


def generate_split(out_dir, split, texts, seed, clips, limit):
    split_dir = os.path.join(out_dir, split)
    os.makedirs(split_dir, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmpdir:
        for i in range(min(clips, limit) if limit else clips):
            rng = random.Random(f"{seed}:{split}:{i}")
            plan = clip_plan(rng, texts, i)
            samples, beep_info = render(plan, rng, tmpdir)
            name = f"{i:03d}.wav"
            write_wav(os.path.join(split_dir, name), samples)
            truth = "machine" if plan["machine"] else "human"
            voice = "/".join(v for v in plan["voice"] if v)
            rows.append(f"{name}\t{truth}\t{1 if beep_info else 0}\t{plan['text']}\t{voice}\t"
                        f"lead={plan['lead_ms']}ms noise={plan['noise_db']:.1f}dBFS"
                        + (f" beep={beep_info[0]}Hz/{beep_info[1]}ms" if beep_info else ""))
    with open(os.path.join(split_dir, "labels.tsv"), "w") as f:
        f.write("# file\ttruth\tbeep\ttext\tvoice\tdetails\n" + "\n".join(rows) + "\n")
    return [os.path.join(split, r.split("\t")[0]) for r in rows] + [os.path.join(split, "labels.tsv")]


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def check(out_dir, files, manifest, full):
    """Every generated file must match its line in the manifest (a --limit slice checks its own files)."""
    expected = {}
    with open(manifest) as f:
        for line in f:
            digest, name = line.split()
            expected[name] = digest
    # A --limit slice writes a shorter labels.tsv: its wav files are still checked one by one.
    bad = [n for n in files if (full or not n.endswith("labels.tsv"))
           and expected.get(n) != sha256(os.path.join(out_dir, n))]
    for n in bad:
        print(f"MISMATCH {n}", file=sys.stderr)
    return not bad


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--split", choices=["tune", "report", "all"], default="all")
    ap.add_argument("--clips", type=int, default=DEFAULT_CLIPS, help="clips per split")
    ap.add_argument("--limit", type=int, default=0, help="only the first N clips of each split")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--noise-db", default="", metavar="LO,HI",
                    help="stress runs only: another noise range in dBFS (the manifest is for the default)")
    ap.add_argument("--manifest", default=os.path.join(HERE, "manifest.sha256"))
    ap.add_argument("--write-manifest", action="store_true")
    ap.add_argument("--check", action="store_true", help="compare the generated files with the manifest")
    a = ap.parse_args()
    if a.noise_db:
        global NOISE_DB
        NOISE_DB = tuple(float(x) for x in a.noise_db.split(","))
    with open(os.path.join(HERE, "texts.json")) as f:
        texts = json.load(f)
    files = []
    for split in (["tune", "report"] if a.split == "all" else [a.split]):
        files += generate_split(a.out_dir, split, texts[split], a.seed, a.clips, a.limit)
    if a.write_manifest:
        with open(a.manifest, "w") as f:
            f.writelines(f"{sha256(os.path.join(a.out_dir, n))}  {n}\n" for n in files)
    if a.check and not check(a.out_dir, files, a.manifest, a.limit == 0 and a.clips == DEFAULT_CLIPS):
        sys.exit(1)
    print(f"{len(files)} files in {a.out_dir}")


if __name__ == "__main__":
    main()
