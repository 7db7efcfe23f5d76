"""An HTTP endpoint on 127.0.0.1 that hands over every POST it gets (headers and raw body),
and every GET (with its path and query, as Kannel-style delivery reports come)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Post:
    headers: Message  # case-insensitive, as a receiver reads them
    body: bytes
    method: str = "POST"
    path: str = ""  # with the query string


@dataclass
class Inbox:
    url: str
    posts: queue.Queue[Post] = field(default_factory=queue.Queue)

    def next(self, timeout: float = 10.0) -> Post:
        try:
            return self.posts.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"nothing posted to {self.url} within {timeout} s") from None


@contextmanager
def receiving() -> Iterator[Inbox]:
    inbox: Inbox | None = None

    class Endpoint(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"] or 0)
            assert inbox is not None
            inbox.posts.put(Post(self.headers, self.rfile.read(length), "POST", self.path))
            self.send_response(204)
            self.end_headers()

        def do_GET(self) -> None:
            assert inbox is not None
            inbox.posts.put(Post(self.headers, b"", "GET", self.path))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
    inbox = Inbox(f"http://127.0.0.1:{server.server_address[1]}/events")
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    try:
        yield inbox
    finally:
        server.shutdown()
        server.server_close()
