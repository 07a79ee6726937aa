"""Run an `openbss` command as a long-lived service in a subprocess, against the test's database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa


@contextmanager
def openbss_service(engine: sa.Engine, home: Path, *args: str) -> Iterator[subprocess.Popen]:
    """`openbss ARGS...` on the test database; killed on the way out if the test did not stop it."""
    env = {**os.environ, "OPENBSS_DATABASE_URL": engine.url.render_as_string(hide_password=False),
           "OPENBSS_HOME": str(home)}  # fmt: skip
    service = subprocess.Popen([sys.executable, "-m", "openbss.cli", *args], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        yield service
    finally:
        if service.poll() is None:
            service.kill()
            service.wait()


def wait_until(service: subprocess.Popen, done: Callable[[], bool]) -> None:
    """Poll `done` while the service runs; a service that dies first fails the test with its output."""
    while not done():
        assert service.poll() is None, service.stdout.read()
        time.sleep(0.1)


def stop(service: subprocess.Popen) -> str:
    """SIGTERM, as a process manager stops a service; its whole output once it has exited."""
    service.send_signal(signal.SIGTERM)
    output, _ = service.communicate(timeout=60)
    return output


def wait_for_port(service: subprocess.Popen, port: int, timeout: float = 30) -> None:
    """Wait until the service accepts TCP connections on 127.0.0.1:`port`; one that dies first fails the test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert service.poll() is None, service.stdout.read()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on port {port} after {timeout} s")
