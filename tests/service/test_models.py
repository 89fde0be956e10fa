"""With anomaly models, the service scores them in the same pipeline and the API explains a model's alert."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from engine.anomaly.bank import ModelBank, compile_with_models, load_models
from engine.rules.loader import load_pack
from tests.service.helpers import ROOT, in_process


def test_model_alerts_carry_their_explanation(tmp_path: Path, small_stream: tuple[bytes, bytes]) -> None:
    models = load_models(ROOT / "models")
    compiled = compile_with_models(load_pack(ROOT / "rules" / "cn-platform"), models)

    async def go() -> tuple[list[dict[str, Any]], dict[str, Any]]:
        async with in_process(tmp_path, compiled, models=ModelBank(models)) as (url, svc, http, secrets):
            key = {"Authorization": f"Bearer {secrets['platforms']['demo-mall']}"}
            token = {"Authorization": f"Bearer {secrets['bureaus']['杭州市市场监督管理局']['token']}"}
            async with http.post(f"{url}/v1/events", data=small_stream[0],
                                 headers={**key, "Content-Type": "application/x-ndjson"}) as r:
                assert r.status == 202
            while svc.depth.value:
                await asyncio.sleep(0.05)
            async with http.get(f"{url}/v1/alerts?family=anomaly&limit=1000", headers=token) as r:
                found = (await r.json())["alerts"]
            assert found, "no model alert in the Hangzhou region of the small stream"
            async with http.get(f"{url}/metrics") as r:
                text = await r.text()
            assert 'hongdun_model_feature_psi{feature="price_vs_own_min",model="listing_price"}' in text
            async with http.get(f"{url}/v1/alerts/{found[0]['alert_id']}", headers=token) as r:
                return found, await r.json()

    found, detail = asyncio.run(go())
    model = detail["model"]
    assert model["name"] in {m.name for m in models}
    assert 0 <= model["risk"] <= 1 and model["risk"] >= model["threshold"]
    assert model["top_features"] and all("feature" in f and "contribution" in f for f in model["top_features"])
    assert detail["alert"]["model"]["manifest_sha256"] and found[0]["family"] == "anomaly"
    assert detail["alert"]["disposition"]["kind"] == "review" and detail["alert"]["legal_basis"] == []

    # the daily report counts model leads as their own disposition
    from datetime import datetime

    from engine.alerts.store import open_store
    from engine.service.ingest import CHINA
    from engine.service.queue import IngestQueue
    from engine.service.report import collect, render_csv, render_html

    day = datetime.fromisoformat(detail["alert"]["event_time"]).astimezone(CHINA).date()
    queue = IngestQueue(tmp_path / "ingest.db")
    with open_store(str(tmp_path / "alerts.db")) as store:
        rep = collect(store, queue, day)
    queue.close()
    assert rep.by_family["anomaly"] >= 1 and rep.by_disposition["review"] >= 1
    assert "review,人工核查（模型线索）" in render_csv(rep) and "人工核查（模型线索）" in render_html(rep)
