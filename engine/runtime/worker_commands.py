"""`hongdun worker`, `hongdun produce`, `hongdun rules publish`, `hongdun alerts tail` (distributed mode).

Registered on the main CLI at the end of engine/cli.py. Options may also come
from the environment (``HONGDUN_BROKER``, ``HONGDUN_TOPIC_PREFIX``, …) through
click's ``envvar``; nothing below cli level reads the environment.
"""
from __future__ import annotations

import asyncio
import sys

import click

_broker = click.option("--broker", envvar="HONGDUN_BROKER", required=True,
                       help="Kafka bootstrap servers: kafka://HOST:PORT (several: kafka://h1:9092;h2:9092)")
_prefix = click.option("--topic-prefix", envvar="HONGDUN_TOPIC_PREFIX", default="hongdun", show_default=True,
                       help="topic names are PREFIX-events, PREFIX-alerts, PREFIX-dead-letter, PREFIX-shadow-alerts, "
                            "PREFIX-control, PREFIX-rekey, PREFIX-rekey-replies")
_partitions = click.option("--partitions", default=4, show_default=True, type=click.IntRange(1, 10_000),
                           help="partitions of the event topic (and of every topic and changelog created with it)")


@click.command()
@_broker
@click.option("--pack", "pack", required=True, type=click.Path(exists=True, file_okay=False),
              help="rule pack at start (a pack published to the control topic replaces it)")
@click.option("--models", "models_dir", default=None, type=click.Path(exists=True, file_okay=False),
              help="score with every verified model in this folder (score.NAME in rules, model alerts); "
                   "packs published to the control topic are compiled with the same models")
@click.option("--store", type=click.Choice(["memory", "rocksdb"]), default="rocksdb", show_default=True,
              help="table store: rocksdb (production, needs the rocksdb extra) or memory (tests)")
@click.option("--data-dir", default="hongdun-data", show_default=True, help="RocksDB tables live here")
@click.option("--web-port", default=6066, show_default=True, type=click.IntRange(1, 65535))
@click.option("--web-host", default="0.0.0.0", show_default=True)
@_prefix
@click.option("--events-topic", default=None, help="input topic (default PREFIX-events)")
@_partitions
@click.option("--replication", default=1, show_default=True, type=click.IntRange(1, 10))
@click.option("--group", default="hongdun", show_default=True, help="consumer group / Faust app id")
@click.option("--session-timeout", default=10.0, show_default=True, type=click.FloatRange(1, 300),
              help="broker session timeout (s); the group waits about half of it for members at start")
@click.option("--heartbeat", default=3.0, show_default=True, type=click.FloatRange(0.1, 100), help="heartbeat interval (s)")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--batch-wait", default=0.05, show_default=True, type=click.FloatRange(0.001, 10),
              help="longest wait (s) to fill a batch")
@click.option("--commit-interval", default=1.0, show_default=True, type=click.FloatRange(0.05, 60))
@click.option("--reply-timeout", default=30.0, show_default=True, type=click.FloatRange(1, 3600),
              help="longest wait (s) for cross-merchant window values from the re-keyed topic")
@click.option("--seal/--no-seal", "seal", default=True, show_default=True,
              help="end each batch's changelog writes with a one-record batch (exact table recovery also on brokers "
                   "whose ListOffsets reports a batch's first offset)")
@click.option("--fetch-wait", default=0.02, show_default=True, type=click.FloatRange(0.001, 5),
              help="longest fetch long-poll (s); bounds each hop of a cross-merchant lookup")
@click.option("--regions", default=None, help="comma-separated region codes this bureau covers")
@click.option("--loglevel", default="info", show_default=True)
def worker(broker: str, pack: str, models_dir: str | None, store: str, data_dir: str, web_port: int, web_host: str,
           topic_prefix: str, events_topic: str | None, partitions: int, replication: int, group: str,
           session_timeout: float, heartbeat: float, batch_size: int, batch_wait: float, commit_interval: float,
           reply_timeout: float, seal: bool, fetch_wait: float, regions: str | None, loglevel: str) -> None:
    """Run a distributed worker: a Faust app on Kafka sharing the event topic's partitions with its group."""
    from engine.alerts.routing import Deployment
    from engine.cli import _load_engine
    from engine.pipeline import PipelineConfig
    from engine.runtime.faust_app import Topics, Worker, WorkerConfig
    from engine.runtime.topology import TopologyError, plan_for

    if store == "rocksdb":
        try:
            import rocksdict  # noqa: F401
        except ImportError:
            click.echo("--store rocksdb needs rocksdict: pip install 'hongdun[rocksdb]' (or use --store memory)", err=True)
            sys.exit(2)
    compiled, bank = _load_engine(pack, models_dir)  # exits 1 with every error (pack or model)
    try:
        plan_for(compiled)  # model windows included: a model window keyed across merchants is re-keyed too
    except TopologyError as exc:
        click.echo(f"{pack}: {exc}", err=True)
        sys.exit(1)
    deployment = None
    if regions:
        deployment = Deployment.parse(regions)
    cfg = WorkerConfig(
        broker=broker if "://" in broker else f"kafka://{broker}", pack_dir=pack,
        topics=Topics.from_prefix(topic_prefix, events=events_topic), group=group, partitions=partitions,
        replication=replication, store=store, data_dir=data_dir, web_host=web_host, web_port=web_port,
        session_timeout_s=session_timeout, heartbeat_s=heartbeat, batch_size=batch_size, batch_within_s=batch_wait,
        commit_interval_s=commit_interval, reply_timeout_s=reply_timeout, seal_changelog=seal, fetch_wait_s=fetch_wait,
        pipeline=PipelineConfig(deployment=deployment), log_level=loglevel,
    )
    Worker(cfg, compiled, models=bank).run()


@click.command()
@_broker
@click.option("--input", "input_path", required=True, help="JSONL events file, or - for stdin")
@_prefix
@click.option("--topic", default=None, help="input topic (default PREFIX-events)")
@_partitions
@click.option("--rate", default=None, type=click.FloatRange(1, None), help="events per second (default: as fast as possible)")
def produce(broker: str, input_path: str, topic_prefix: str, topic: str | None, partitions: int, rate: float | None) -> None:
    """Send JSONL events to the event topic keyed by merchant id (the reference platform producer)."""
    from engine.runtime import kafka_io

    topic = topic or f"{topic_prefix}-events"

    async def go() -> tuple[int, int]:
        created = await kafka_io.ensure_topics(broker, {topic: partitions})
        if created:
            click.echo(f"created topic {topic} with {partitions} partitions", err=True)
        if input_path == "-":
            return await kafka_io.produce(broker, topic, kafka_io.stdin_lines(), rate=rate)
        with open(input_path, "rb") as f:
            return await kafka_io.produce(broker, topic, f, rate=rate)

    sent, skipped = asyncio.run(go())
    click.echo(f"sent {sent:,} events to {topic}" + (f" ({skipped} blank lines skipped)" if skipped else ""), err=True)


@click.command("publish")
@click.argument("pack", type=click.Path(exists=True, file_okay=False))
@_broker
@_prefix
@click.option("--topic", default=None, help="control topic (default PREFIX-control)")
@click.option("--models", "models_dir", default=None, type=click.Path(exists=True, file_okay=False),
              help="lint the pack with the models the workers run with (needed when its rules read score.NAME)")
def publish(pack: str, broker: str, topic_prefix: str, topic: str | None, models_dir: str | None) -> None:
    """Lint PACK and publish it to the control topic; every worker swaps it in between batches."""
    from engine.cli import _load_engine
    from engine.runtime import kafka_io
    from engine.runtime.faust_app import bundle_pack
    from engine.runtime.topology import TopologyError, plan_for

    compiled, _bank = _load_engine(pack, models_dir)  # exits 1 with every error if the pack does not lint
    try:
        plan_for(compiled)
    except TopologyError as exc:
        click.echo(f"{pack}: {exc}", err=True)
        sys.exit(1)
    topic = topic or f"{topic_prefix}-control"

    async def go() -> int:
        await kafka_io.ensure_topics(broker, {topic: 1}, compacted=[topic])
        return await kafka_io.publish_bundle(broker, topic, bundle_pack(pack))

    offset = asyncio.run(go())
    click.echo(f"published {compiled.name} {compiled.version} to {topic} at offset {offset}")


@click.command("tail")
@_broker
@_prefix
@click.option("--topic", default=None, help="topic to follow (default PREFIX-alerts)")
@click.option("--from-beginning/--from-end", default=True, show_default=True)
@click.option("--max", "limit", default=None, type=click.IntRange(1, None), help="stop after this many records")
@click.option("--idle-timeout", default=None, type=click.FloatRange(0.1, None), help="stop after this many seconds without a record")
@click.option("--group", default=None, help="consumer group (commits its position); default: none")
def tail(broker: str, topic_prefix: str, topic: str | None, from_beginning: bool, limit: int | None,
         idle_timeout: float | None, group: str | None) -> None:
    """Follow the alerts topic and print each alert as a JSON line (upsert by alert_id, keep the highest hits)."""
    from engine.runtime import kafka_io

    topic = topic or f"{topic_prefix}-alerts"
    asyncio.run(kafka_io.tail(broker, topic, sys.stdout.buffer, from_beginning=from_beginning, limit=limit,
                              idle_timeout_s=idle_timeout, group=group))
