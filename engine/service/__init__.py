"""`hongdun serve`: the embedded runtime as a single-machine service.

One process ingests events over HTTP (platforms, per-platform API keys),
queues every accepted event durably in SQLite before answering, drains the
queue through the same pure :class:`~engine.pipeline.Pipeline` in
micro-batches, stores alerts in the audited alert store, and serves the
regulator API (per-bureau tokens scoped to region codes), the web inbox
and Prometheus metrics. See docs/serve.md.

Modules, one job each:

* ``config``   — the frozen service configuration the CLI fills in
* ``auth``     — platform keys and bureau tokens (stored as SHA-256 hashes)
* ``queue``    — the durable ingest queue, dead letter and per-day counts (SQLite)
* ``ingest``   — request body → events to queue + rejects with index and reason
* ``worker``   — the one consumer that drains the queue through the pipeline
* ``regulator``— region-scoped reads and audited status changes (no HTTP)
* ``api``      — the HTTP handlers (ingest, regulator API, status, metrics)
* ``openapi``  — the OpenAPI document that is the API's contract
* ``charts``   — small server-side SVG charts (inbox and report)
* ``inbox``    — the web inbox (static page + vanilla JS against the API)
* ``app``      — wiring: aiohttp application, lifecycle, ``run_service``
* ``report``   — the daily early-warning report (HTML + CSV)
* ``client``   — the reference platform client behind ``hongdun post``
* ``commands`` — the click commands ``serve``, ``tokens``, ``post`` and ``report``
"""
