"""The service's configuration: one frozen object, filled by the CLI (the only reader of the environment)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.alerts.routing import Deployment


@dataclass(frozen=True)
class ServiceConfig:
    """Everything `hongdun serve` needs to start; no defaults hidden elsewhere."""

    pack_dir: Path  # rule pack folder (its rule text also goes into referral packages)
    db_url: str  # alert store: SQLite path or postgresql://…
    data_dir: Path  # ingest queue (ingest.db) and pipeline state snapshots live here
    auth_file: Path  # platform keys and bureau tokens (hashes), see engine.service.auth
    models_dir: Path | None = None  # anomaly models folder (checked at start; see docs/serve.md)
    host: str = "127.0.0.1"
    port: int = 8080
    deployment: Deployment | None = None  # regions this bureau covers; others become referrals
    max_body_bytes: int = 16 * 1024 * 1024  # one ingest request at most (413 above)
    max_events_per_request: int = 20_000
    queue_max_events: int = 200_000  # queued but unprocessed events; above this ingest answers 429
    batch_size: int = 2_000  # micro-batch the consumer takes from the queue
    snapshot_every_s: float = 300.0  # pipeline state snapshot interval (and at shutdown)

    def __post_init__(self) -> None:
        if self.max_events_per_request > self.queue_max_events:
            raise ValueError("max_events_per_request must not exceed queue_max_events (such a request could never fit)")
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")

    @property
    def queue_path(self) -> Path:
        """The SQLite file of the durable ingest queue."""
        return self.data_dir / "ingest.db"

    @property
    def state_dir(self) -> Path:
        """Where window and dedup state are snapshotted."""
        return self.data_dir / "state"
