"""HTTP to the POS API, and a fault-injecting wrapper that simulates a lost network.

"Network lost" is simulated on the client side only: ``FaultyTransport.cut()`` points the
register at a dead local address (a port nothing listens on, so every call is refused by
the operating system), ``restore()`` points it back; ``drop_rate`` and ``lose_next()`` lose
a request before it reaches the server, or its response after the server acted.
"""

from __future__ import annotations

import random
import socket
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import requests

from .errors import Unreachable

API_PREFIX = "/api/pos/v1/"


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class HttpTransport:
    """One ``requests`` session to one server; raises ``Unreachable`` when nothing answers."""

    def __init__(self, server: str, *, session: requests.Session | None = None, timeout: float = 10.0) -> None:
        self.server = server.rstrip("/")
        self.session = session or requests.Session()
        self.timeout = timeout

    def request(self, method: str, path: str, *, json: Any = None, headers: dict[str, str] | None = None) -> Reply:
        url = self.server + API_PREFIX + path
        try:
            response = self.session.request(method, url, json=json, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:  # refused, reset, timed out, cut mid-answer
            raise Unreachable(f"{method} {path}: {type(exc).__name__}") from exc
        return Reply(response.status_code, _json_or_none(response), {k.lower(): v for k, v in response.headers.items()})


def _json_or_none(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def dead_address() -> str:
    """A local URL nothing listens on: bind a free port, then close it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class FaultyTransport:
    """Wraps an ``HttpTransport`` and loses the network on demand or at random."""

    def __init__(self, inner: HttpTransport, *, drop_rate: float = 0.0, seed: int | None = None) -> None:
        self.inner = inner
        self.drop_rate = drop_rate
        self.random = random.Random(seed)
        self.server = inner.server
        self.planned: deque[str] = deque()
        self.drops = {"request": 0, "response": 0}
        self._lock = threading.Lock()

    def cut(self) -> None:
        """Network lost: from now on every call is refused at a dead address."""
        self.inner.server = dead_address()

    def restore(self) -> None:
        self.inner.server = self.server

    def lose_next(self, what: str) -> None:
        """Lose the next call's ``"request"`` (never reaches the server) or ``"response"`` (server acted)."""
        if what not in self.drops:
            raise ValueError("lose_next takes 'request' or 'response'")
        self.planned.append(what)

    def request(self, method: str, path: str, *, json: Any = None, headers: dict[str, str] | None = None) -> Reply:
        fault = self._next_fault()
        if fault == "request":
            raise Unreachable(f"{method} {path}: request lost (injected)")
        reply = self.inner.request(method, path, json=json, headers=headers)
        if fault == "response":
            raise Unreachable(f"{method} {path}: response lost (injected)")
        return reply

    def _next_fault(self) -> str | None:
        with self._lock:
            if self.planned:
                fault = self.planned.popleft()
            elif self.drop_rate and self.random.random() < self.drop_rate:
                fault = self.random.choice(["request", "response"])
            else:
                return None
            self.drops[fault] += 1
            return fault
