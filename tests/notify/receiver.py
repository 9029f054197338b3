"""A real local HTTP receiver for webhook tests: records every POST and answers as scripted."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it."""

    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """Answers each POST with the next scripted status (200 once the script is used up)."""

    def __init__(self, server: ThreadingHTTPServer) -> None:
        self._server = server
        self._lock = threading.Condition()
        self._script: list[int] = []
        self._received: list[Received] = []

    @property
    def url(self) -> str:
        """Where the receiver listens."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hooks/wenming"

    @property
    def received(self) -> list[Received]:
        """Every request so far, in arrival order."""
        with self._lock:
            return list(self._received)

    def answer(self, *statuses: int) -> None:
        """Answer the next requests with these statuses, in order."""
        with self._lock:
            self._script.extend(statuses)

    def take(self, request: Received) -> int:
        """Record a request and pick its answer."""
        with self._lock:
            self._received.append(request)
            self._lock.notify_all()
            return self._script.pop(0) if self._script else 200

    def wait_for(self, count: int, timeout: float) -> bool:
        """Block until ``count`` requests have arrived (False if the timeout passes first)."""
        with self._lock:
            return self._lock.wait_for(lambda: len(self._received) >= count, timeout)


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    """A receiver on a free port of 127.0.0.1, served from a thread until the block ends."""
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        """Hands each POST to the receiver."""

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            status = receiver.take(Received(self.path, headers, body))
            answer = b"ok" if status < 300 else b"gateway says no"
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            """Keep the test output quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = Receiver(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
