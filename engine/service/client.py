"""A reference platform client: post a JSONL file to `hongdun serve` in NDJSON batches.

What a platform's sender must do, in a few lines: send batches in order,
honour 429 + Retry-After (the service is behind; nothing of a refused batch
was queued, so the same batch is sent again), and keep the per-event rejects
the answers list. Used by `hongdun post` and by the ingest load test.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp


class PostError(Exception):
    """The service refused a batch for a reason retrying will not fix (4xx other than 429, or 5xx)."""


@dataclass
class PostSummary:
    """Totals of one upload."""

    accepted: int = 0
    rejected: int = 0
    requests: int = 0
    throttled: int = 0  # 429 answers (each batch was then sent again)
    rejects: list[dict[str, Any]] = field(default_factory=list)  # with `line` = line in the file


async def post_lines(url: str, key: str, lines: Iterable[bytes], batch_size: int = 2000, max_wait_s: float = 60.0,
                     on_batch: Callable[[PostSummary], None] | None = None) -> PostSummary:
    """Post non-blank JSONL ``lines`` in order; rejects come back with their line number in the input."""
    summary = PostSummary()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"}
    batch: list[tuple[int, bytes]] = []

    async def send(http: aiohttp.ClientSession) -> None:
        body = b"".join(l if l.endswith(b"\n") else l + b"\n" for _, l in batch)
        while True:
            summary.requests += 1
            async with http.post(f"{url.rstrip('/')}/v1/events", data=body, headers=headers) as r:
                if r.status == 429:
                    summary.throttled += 1
                    await asyncio.sleep(min(float(r.headers.get("Retry-After", "1")), max_wait_s))
                    continue
                answer = await r.json(content_type=None)
                if r.status != 202:
                    raise PostError(f"HTTP {r.status}: {answer.get('error', answer)}")
                summary.accepted += answer["accepted"]
                summary.rejected += answer["rejected"]
                for rej in answer["rejects"]:
                    summary.rejects.append({**rej, "line": batch[rej["index"]][0]})
                break
        batch.clear()
        if on_batch is not None:
            on_batch(summary)

    async with aiohttp.ClientSession() as http:
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            batch.append((n, line))
            if len(batch) >= batch_size:
                await send(http)
        if batch:
            await send(http)
    return summary
