"""Run the official TM Forum CTKs (Postman collections, unmodified) with newman against a live openbss.

The kits send no credentials. The harness serves the app on loopback behind a wrapper that attaches an
admin API key it created for the run, so the kits exercise the real authenticated API and nothing
anonymous is ever reachable: the wrapper exists only inside this harness, bound to 127.0.0.1.
"""

from __future__ import annotations

import json
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parents[2]
CTK = ROOT.parent / "shared" / "conformance" / "tmf" / "ctk"
NODE_TOOLS = ROOT / ".ci" / "node"

# The kits openbss claims to pass with zero failures: `make conformance` and the test suite run each.
CLAIMED: tuple[str, ...] = ("TMF620", "TMF622", "TMF629", "TMF632", "TMF637", "TMF666", "TMF678")


def _seed_products(engine) -> None:
    from tests.conformance.seed_ordering import seed_products

    seed_products(engine)


def _seed_bills(engine) -> None:
    from tests.conformance.seed_billing import seed_bills

    seed_bills(engine)


# Kits that only read need resources first: API -> seed(engine), called once the live server (and so the
# event sink) is up, before newman runs.
SEEDS: dict[str, Callable[[object], None]] = {"TMF637": _seed_products, "TMF678": _seed_bills}

# API -> (collection, base-URL variable, base path); each kit's folder is CTK/<API>
KITS = {
    "TMF620": ("CTK-Product_Catalog-4.0.0.postman_collection.json", "Product_Catalog", "productCatalogManagement"),
    "TMF622": ("TMF622-ProductOrdering-v4.0.0.testkit.json", "Product_Ordering", "productOrderingManagement"),
    "TMF629": ("CTK-Customer-4.0.0.postman_collection.json", "Customer", "customerManagement"),
    "TMF632": ("TMF632-Party-v4.0.0.testkit.json", "Party", "party"),
    "TMF637": ("TMF637-ProductInventory-v4.0.0.testkit.json", "Product_Inventory", "productInventory"),
    "TMF666": ("CTK-Account-4.0.0.postman_collection.json", "Account", "accountManagement"),
    "TMF678": ("CTK-Customer_Bill-4.0.postman_collection.json", "Customer_Bill", "customerBillManagement"),
}


@dataclass
class KitResult:
    api: str
    requests: int = 0
    assertions: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)


def newman() -> str:
    """The newman binary, installed from npm into .ci/node on first use."""
    binary = NODE_TOOLS / "node_modules" / ".bin" / "newman"
    if not binary.exists():
        NODE_TOOLS.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(NODE_TOOLS),
                        "newman@6"], check=True)
    return str(binary)


class _WithKey:
    """ASGI wrapper that adds `Authorization: Bearer <key>` to every request that has none."""

    def __init__(self, app, key: str):
        self.app, self.header = app, (b"authorization", f"Bearer {key}".encode())

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and not any(k == b"authorization" for k, _ in scope["headers"]):
            scope = {**scope, "headers": [*scope["headers"], self.header]}
        await self.app(scope, receive, send)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The full app on 127.0.0.1 in a background thread, authenticated as `key`."""

    def __init__(self, app, key: str):
        self.port = _free_port()
        config = uvicorn.Config(_WithKey(app, key), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        for _ in range(200):
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("conformance server did not start")

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def run_kit(api: str, port: int) -> KitResult:
    collection, variable, base = KITS[api]
    folder = CTK / api
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run(
            [newman(), "run", str(folder / collection), "-e", str(folder / "TMFENV-V4.0.0.postman_environment.json"),
             "--env-var", f"{variable}=http://127.0.0.1:{port}/tmf-api/{base}/v4/",
             "--reporters", "json", "--reporter-json-export", str(report), "--timeout-request", "30000"],
            capture_output=True, text=True, timeout=600,
        )
        run = json.loads(report.read_text())["run"]
    stats = run["stats"]
    result = KitResult(api, stats["requests"]["total"], stats["assertions"]["total"],
                       stats["assertions"]["failed"] + stats["testScripts"]["failed"] + stats["requests"]["failed"])
    for f in run["failures"]:
        err = f.get("error", {})
        result.failures.append(f"{f.get('source', {}).get('name', '?')}: {err.get('test') or err.get('name')}: "
                               f"{err.get('message')}")
    return result



@contextmanager
def live_api(engine) -> Iterator[Server]:
    """Serve the app over `engine` on loopback with a fresh admin key for the kits."""
    from openbss.api.app import create_app
    from openbss.auth.service import create_api_key
    from openbss.config import load_settings
    from openbss.core.ids import new_id
    from openbss.db.uow import unit_of_work

    with unit_of_work(engine, actor="conformance") as uow:
        key = create_api_key(uow, f"ctk-{new_id().hex[-8:]}", "admin")
    with tempfile.TemporaryDirectory() as home, Server(
        create_app(engine=engine, settings=load_settings({"OPENBSS_HOME": home})), key
    ) as server:
        yield server
