"""A websocket server for the `listen` tests: accepts connections (offering the `audio.jambonz.org` subprotocol),
records every message with its arrival time, and lets the test send text frames or close a connection.

Debian's python3-websockets (10.x), run on an asyncio loop of its own thread; the test thread talks to it through
thread-safe methods.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import websockets


@dataclass
class Message:
    ts: float  # time.monotonic() at arrival
    text: bool
    data: Any  # str or bytes


@dataclass
class Conn:
    path: str
    headers: dict[str, str]
    subprotocol: Optional[str]
    messages: list[Message] = field(default_factory=list)
    closed_at: Optional[float] = None
    ws: Any = None

    def texts(self) -> list[Any]:
        return [json.loads(m.data) for m in list(self.messages) if m.text]

    def binaries(self, t0: float = 0.0, t1: float = float("inf")) -> list[Message]:
        return [m for m in list(self.messages) if not m.text and t0 <= m.ts < t1]


class WsSink:
    def __init__(self, host: str, port: int, subprotocols: tuple[str, ...] = ("audio.jambonz.org",)) -> None:
        self.host, self.port = host, port
        self.subprotocols = list(subprotocols)
        self.conns: list[Conn] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"ws-sink-{port}")
        self._ready = threading.Event()
        self._stop: Optional[asyncio.Future] = None

    def url(self, path: str) -> str:
        return f"ws://{self.host}:{self.port}{path}"

    def start(self) -> "WsSink":
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("websocket sink did not start")
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self._stop = self._loop.create_future()
        async with websockets.serve(self._handler, self.host, self.port, subprotocols=self.subprotocols,
                                    max_size=None, ping_interval=None):
            self._ready.set()
            await self._stop

    async def _handler(self, ws: Any, path: str = "") -> None:
        conn = Conn(path=getattr(ws, "path", path), headers={k.lower(): v for k, v in ws.request_headers.items()},
                    subprotocol=ws.subprotocol, ws=ws)
        with self._lock:
            self.conns.append(conn)
        try:
            async for msg in ws:
                conn.messages.append(Message(time.monotonic(), isinstance(msg, str), msg))
        except websockets.ConnectionClosed:
            pass
        finally:
            conn.closed_at = time.monotonic()

    def send(self, conn: Conn, obj: Any) -> None:
        data = obj if isinstance(obj, str) else json.dumps(obj)
        asyncio.run_coroutine_threadsafe(conn.ws.send(data), self._loop).result(5)

    def close_conn(self, conn: Conn) -> None:
        asyncio.run_coroutine_threadsafe(conn.ws.close(), self._loop).result(5)

    def wait_conn(self, pred: Callable[[Conn], bool] = lambda c: True, timeout: float = 10) -> Conn:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                for c in self.conns:
                    if pred(c):
                        return c
            time.sleep(0.02)
        raise AssertionError(f"no websocket connection within {timeout} s (connections: {len(self.conns)})")

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(lambda: self._stop.done() or self._stop.set_result(None))
        self._thread.join(5)


def wait_for(pred: Callable[[], Any], timeout: float, what: str) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
