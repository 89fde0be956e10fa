"""Hand-made event streams for the Kafka tests (built from templates taken from a simulated stream)."""
from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone

import orjson

CST = timezone(timedelta(hours=8))


def template(lines: list[bytes], event_type: str) -> dict:
    for line in lines:
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(doc, dict) and doc.get("event_type") == event_type:
            return doc
    raise AssertionError(f"no {event_type} event in the stream")


def iso(t: datetime) -> str:
    return t.astimezone(CST).isoformat()


def complaint(tpl: dict, *, merchant: str, complainant: str, at: datetime, n: int, problem: str = "质量",
              text: str = "商品质量有问题") -> bytes:
    doc = copy.deepcopy(tpl)
    doc["merchant"]["merchant_id"] = merchant
    doc["event_id"] = f"ev-{merchant}-{complainant}-{n}"
    doc["complaint_id"] = f"cp-{merchant}-{complainant}-{n}"
    doc["complainant_hash"] = complainant
    doc["occurred_at"] = iso(at)
    doc["kind"] = "投诉"
    doc["problem_cat"] = problem
    doc["text"] = text
    doc.pop("demand", None)
    return orjson.dumps(doc)


def relabel(line: bytes, *, merchant: str, suffix: str) -> bytes:
    """The same event for another merchant with a fresh event id."""
    doc = orjson.loads(line)
    doc["merchant"]["merchant_id"] = merchant
    doc["event_id"] = f"{doc['event_id']}-{suffix}"
    return orjson.dumps(doc)


def surge(tpl: dict, merchant: str, start: datetime, n: int = 12, every: timedelta = timedelta(minutes=20)) -> list[tuple[datetime, bytes]]:
    """``n`` complaints from different complainants against one merchant: a surge (ST-CP-01 fires at the 10th)."""
    return [(start + i * every, complaint(tpl, merchant=merchant, complainant=f"c-{merchant}-{i}", at=start + i * every, n=i))
            for i in range(n)]


def merge_by_time(lines: list[bytes], extra: list[tuple[datetime, bytes]]) -> list[bytes]:
    """Insert ``extra`` events into a time-ordered stream at their event time (bad lines stay where they are)."""
    out: list[bytes] = []
    pending = sorted(extra, key=lambda x: x[0])
    j = 0
    for line in lines:
        try:
            ts = datetime.fromisoformat(orjson.loads(line)["occurred_at"])
        except Exception:
            out.append(line)
            continue
        while j < len(pending) and pending[j][0] <= ts:
            out.append(pending[j][1])
            j += 1
        out.append(line)
    out.extend(b for _, b in pending[j:])
    return out
