"""A real HTTP receiver on 127.0.0.1 for event deliveries, shared by the tests that run the outbox relay.

A pytest plugin: a test module that sets `pytest_plugins = ["tests.http_receiver"]` gets the fixtures `peer`
(the receiver) and `http` (the client the relay posts with).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest


class Peer:
    """An HTTP receiver that records every request and can be told to fail the next N of them."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.failures = 0
        self.fail_status = 500
        self.delay = 0.0
        self.lock = threading.Lock()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(peer.delay)
                with peer.lock:
                    peer.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                          "body": body})
                    failing = peer.failures > 0
                    peer.failures -= failing
                self.send_response(peer.fail_status if failing else 201)
                reply = b'{"reason": "receiver is down"}' if failing else b""
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def fail_next(self, n: int, status: int = 500) -> None:
        self.failures, self.fail_status = n, status

    def bodies(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests]


@pytest.fixture
def peer():
    p = Peer()
    p.thread.start()
    yield p
    p.server.shutdown()
    p.server.server_close()


@pytest.fixture
def http():
    with httpx.Client(timeout=5.0, follow_redirects=False) as c:
        yield c
