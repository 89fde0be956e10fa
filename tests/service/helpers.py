"""In-process service on a real loopback socket (aiohttp TestServer), for ingest tests that need to hold the consumer."""
from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from engine.service.app import Service, build_app
from engine.service.auth import load_auth, make_auth, write_auth
from engine.service.config import ServiceConfig

ROOT = Path(__file__).parents[2]


def auth_for(tmp: Path) -> tuple[Path, dict[str, Any]]:
    """An auth file with platforms demo-mall and other-mall and a Hangzhou bureau; returns (path, secrets)."""
    doc, secrets = make_auth(["demo-mall", "other-mall"], [("杭州市市场监督管理局", ["330100"])])
    path = tmp / "auth.json"
    write_auth(doc, path)
    return path, secrets


@contextlib.asynccontextmanager
async def in_process(tmp: Path, compiled: Any, *, start_consumer: bool = True, models: Any = None,
                     **overrides: Any) -> AsyncIterator[tuple[str, Service, ClientSession, dict[str, Any]]]:
    """(base URL, service, client session, secrets) of a service built from ``compiled`` in this process."""
    auth_path, secrets = auth_for(tmp)
    config = ServiceConfig(pack_dir=ROOT / "rules" / "starter", db_url=str(tmp / "alerts.db"), data_dir=tmp,
                           auth_file=auth_path, **overrides)
    service = Service(config, load_auth(auth_path), compiled, start_consumer=start_consumer, models=models)
    server = TestServer(build_app(service), host="127.0.0.1", port=0)
    await server.start_server()
    try:
        async with ClientSession() as session:
            yield str(server.make_url("")).rstrip("/"), service, session, secrets
    finally:
        await server.close()
