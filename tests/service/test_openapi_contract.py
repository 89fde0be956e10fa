"""The OpenAPI document is the contract: schemathesis generates requests from it against the running service
and checks every answer (no server errors, documented status codes, content types, headers and response
schemas; requests the document calls invalid are refused, valid ones accepted; no access without a key).

The schemathesis CLI runs as a subprocess against the live `hongdun serve` (its pytest plugin does not
load under pytest 9 here). Two runs, because the two kinds of caller authenticate differently: a bureau
token for the regulator API (all phases: examples, coverage, fuzzing, stateful), a platform key for ingest.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.service.conftest import HANGZHOU

ST = str(Path(sys.executable).parent / "st")


def _schemathesis(served: Any, cwd: Path, secret: str, *selection: str, examples: int) -> tuple[int, str]:
    proc = subprocess.run(
        [ST, "run", f"{served.url}/openapi.json", "-H", f"Authorization: Bearer {secret}", *selection,
         "--max-examples", str(examples), "--checks", "all", "--seed", "20261126", "--no-color",
         "--request-timeout", "30"],
        capture_output=True, text=True, timeout=300, cwd=cwd)  # its cache folder goes to cwd
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.parametrize("who", ["bureau", "platform"])
def test_service_honours_its_openapi_document(served_day: Any, who: str, tmp_path: Path) -> None:
    if who == "bureau":
        code, out = _schemathesis(served_day, tmp_path, served_day.tokens[HANGZHOU], "--exclude-path", "/v1/events",
                                  examples=20)
    else:
        code, out = _schemathesis(served_day, tmp_path, served_day.platform_key, "--include-path", "/v1/events",
                                  "--include-path", "/v1/status", examples=40)
    assert code == 0, out[-6000:]
    found = re.search(r"(\d+) generated, (\d+) passed", out)
    assert found and int(found[1]) == int(found[2]) > 20, out[-2000:]
    print(f"schemathesis ({who}): {found[0]}")


def test_the_document_lists_every_route(served_day: Any) -> None:
    status, doc = served_day.json("GET", "/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.")
    assert set(doc["paths"]) == {
        "/healthz", "/v1/events", "/v1/status", "/v1/me", "/v1/alerts", "/v1/alerts/{alert_id}",
        "/v1/alerts/{alert_id}/ack", "/v1/alerts/{alert_id}/disposition", "/v1/alerts/{alert_id}/close",
        "/v1/alerts/{alert_id}/referral", "/v1/stats/daily"}
