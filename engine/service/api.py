"""HTTP handlers: platform ingest, the regulator API, status, health, metrics and the OpenAPI document.

Handlers only check the request against the OpenAPI contract, authenticate
and hand the work to the service's threads (``Service.run_ingest``,
``Service.run_api``); nothing here touches a database or the pipeline on the
event loop. Errors are JSON ``{"error": …}`` with the documented status.
"""
from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from engine.alerts.store import StatusError, StoreError
from engine.alerts.store.status import STATUSES
from engine.rules.model import SEVERITIES
from engine.service import openapi
from engine.service.auth import Bureau
from engine.service.charts import stacked_bars
from engine.service.ingest import BodyError
from engine.service.regulator import CHINA, NotFound, Query

if TYPE_CHECKING:
    from engine.service.app import Service

_ALERT_ID = re.compile(openapi.ALERT_ID)
_DATE = re.compile(openapi.DATE)
_DATETIME = re.compile(openapi.DATETIME)
_REGION = re.compile(openapi.REGION)
SERVICE: web.AppKey["Service"] = web.AppKey("service")


class Throttled(Exception):
    """The queue is full: answer 429 with Retry-After."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON response (orjson, UTF-8)."""
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json", headers=headers)


def error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    """The documented error shape."""
    return json_response({"error": message}, status, headers)


def _secret(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _unauthorized(what: str) -> web.Response:
    return error(401, f"missing or unknown {what} (send Authorization: Bearer …)", {"WWW-Authenticate": "Bearer"})


def _bureau(request: web.Request) -> Bureau | None:
    return request.app[SERVICE].auth.bureau(_secret(request))


# -- platform ingest ----------------------------------------------------------
async def post_events(request: web.Request) -> web.Response:
    """POST /v1/events: validate, durably queue, answer accepted count and rejects by index."""
    svc = request.app[SERVICE]
    platform = svc.auth.platform(_secret(request))
    if platform is None:
        return _unauthorized("platform API key")
    limit = svc.config.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        return error(413, f"request body of {request.content_length} bytes; the limit is {limit}")
    if svc.depth.value >= svc.config.queue_max_events:
        svc.count_throttled()
        retry = svc.retry_after(1)
        return error(429, f"the pipeline is behind ({svc.depth.value} events queued); retry after {retry} s",
                     {"Retry-After": str(retry)})
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return error(413, f"request body larger than {limit} bytes")
    try:
        result, depth = await svc.run_ingest(body, request.content_type, platform.platform)
    except BodyError as exc:
        return error(exc.status, exc.message)
    except Throttled as exc:
        svc.count_throttled()
        return error(429, f"the pipeline is behind; retry after {exc.retry_after} s", {"Retry-After": str(exc.retry_after)})
    return json_response({"accepted": len(result.accepted), "rejected": len(result.rejects), "rejects": result.rejects,
                          "queue_depth": depth}, 202)


async def get_status(request: web.Request) -> web.Response:
    """GET /v1/status: queue depth and totals (any platform key or bureau token)."""
    svc = request.app[SERVICE]
    secret = _secret(request)
    if svc.auth.platform(secret) is None and svc.auth.bureau(secret) is None:
        return _unauthorized("key or token")
    totals = await svc.run_api(lambda reg: reg.queue.totals())
    rejected = sum(n for k, n in totals.items() if k.startswith("rejected:"))
    return json_response({"queue_depth": svc.depth.value, "accepted": totals.get("accepted", 0),
                          "processed": totals.get("processed", 0), "rejected": rejected,
                          "throttled": svc.throttled})


# -- regulator API ---------------------------------------------------------------
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _when(value: str, name: str) -> float:
    """Epoch seconds of a date (00:00 China time) or an RFC 3339 time; ValueError if it is neither."""
    if _DATE.match(value):
        try:
            dt = datetime.combine(date.fromisoformat(value), datetime.min.time(), CHINA)
        except ValueError:
            raise ValueError(f"{name}: not a valid date: {value!r}") from None
    elif _DATETIME.match(value):
        text = value.upper()
        if text[17:19] == "60":  # a leap second: RFC 3339 allows it, Python does not
            text = text[:17] + "59" + text[19:]
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{name}: not a valid time: {value!r}") from None
    else:
        raise ValueError(f"{name}: a date YYYY-MM-DD or an RFC 3339 time such as 2026-11-11T08:00:00+08:00")
    return (dt - _EPOCH).total_seconds()  # also for years before 1970 or far ahead


def _text(q: Any, name: str, longest: int) -> str | None:
    value = q.get(name)
    if value is None:
        return None
    if not 1 <= len(value) <= longest:
        raise ValueError(f"{name}: 1 to {longest} characters")
    return value


def _int(q: Any, name: str, low: int, high: int, default: int) -> int:
    value = q.get(name)
    if value is None:
        return default
    try:
        n = int(value)
    except ValueError:
        raise ValueError(f"{name}: not an integer: {value!r}") from None
    if not low <= n <= high or not value.strip().lstrip("+-").isdigit():
        raise ValueError(f"{name}: an integer from {low} to {high}")
    return n


def _choice(q: Any, name: str, allowed: tuple[str, ...] | list[str]) -> str | None:
    value = q.get(name)
    if value is not None and value not in allowed:
        raise ValueError(f"{name}: one of {', '.join(allowed)}")
    return value


def parse_query(q: Any) -> Query:
    """The list filters from a query string, checked like the OpenAPI document says; ValueError otherwise."""
    region = q.get("region")
    if region is not None and not _REGION.match(region):
        raise ValueError("region: a 6-digit region code")
    status = _choice(q, "status", STATUSES)
    return Query(
        min_severity=_choice(q, "severity", SEVERITIES), statuses=(status,) if status else (),
        family=_text(q, "family", 64), rule_id=_text(q, "rule", 64), merchant_id=_text(q, "merchant", 128),
        platform=_text(q, "platform", 64), region=region,
        since=_when(q["since"], "since") if "since" in q else None,
        until=_when(q["until"], "until") if "until" in q else None,
        limit=_int(q, "limit", 1, 1000, 100),
    )


async def get_me(request: web.Request) -> web.Response:
    """GET /v1/me: who the token belongs to."""
    bureau = _bureau(request)
    if bureau is None:
        return _unauthorized("bureau token")
    return json_response({"name": bureau.name, "regions": list(bureau.regions)})


async def list_alerts(request: web.Request) -> web.Response:
    """GET /v1/alerts: the bureau's alerts with filters."""
    bureau = _bureau(request)
    if bureau is None:
        return _unauthorized("bureau token")
    try:
        query = parse_query(request.query)
    except ValueError as exc:
        return error(400, str(exc))
    found = await request.app[SERVICE].run_api(lambda reg: reg.list(bureau, query))
    return json_response({"alerts": found, "count": len(found), "limit": query.limit})


def _alert_id(request: web.Request) -> str | None:
    aid = request.match_info["alert_id"]
    return aid if _ALERT_ID.match(aid) else None


def _bureau_and_alert(request: web.Request) -> tuple[Any, str] | web.Response:
    """The calling bureau and the alert id of the path, or the 401/400 response."""
    bureau = _bureau(request)
    if bureau is None:
        return _unauthorized("bureau token")
    aid = _alert_id(request)
    if aid is None:
        return error(400, "alert_id: 32 lowercase hex characters")
    return bureau, aid


async def _read_one(request: web.Request, read: str) -> tuple[Any, str] | web.Response:
    """Authenticate, check the alert id, run ``Regulator.<read>(bureau, id)``: the result, or the error response."""
    who = _bureau_and_alert(request)
    if isinstance(who, web.Response):
        return who
    bureau, aid = who
    try:
        return await request.app[SERVICE].run_api(lambda reg: getattr(reg, read)(bureau, aid)), aid
    except NotFound:
        return error(404, f"no alert {aid} in this bureau's regions")


async def get_alert(request: web.Request) -> web.Response:
    """GET /v1/alerts/{id}: one alert (404 outside the bureau's regions)."""
    got = await _read_one(request, "detail")
    return got if isinstance(got, web.Response) else json_response(got[0])


async def get_referral(request: web.Request) -> web.Response:
    """GET /v1/alerts/{id}/referral: the referral package of one alert."""
    got = await _read_one(request, "referral")
    if isinstance(got, web.Response):
        return got
    package, aid = got
    return json_response(package, headers={"Content-Disposition": f'attachment; filename="referral-{aid}.json"'})


async def _body(request: web.Request, fields: dict[str, bool]) -> dict[str, Any]:
    """The JSON object body with exactly the allowed ``fields`` (name -> required); ValueError otherwise."""
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise ValueError("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    unknown = set(body) - set(fields)
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
    for name, required in fields.items():
        if required and name not in body:
            raise ValueError(f"missing field `{name}`")
        if name in body and not isinstance(body[name], str):
            raise ValueError(f"`{name}` must be a string")
    if not 1 <= len(body["by"]) <= 64:
        raise ValueError("`by`: the name of the person, 1 to 64 characters")
    if len(body.get("note", "")) > 2000:
        raise ValueError("`note`: at most 2000 characters")
    return body


def _change_handler(kind: str) -> Any:
    fields = {"by": True, "note": False} if kind != "disposition" else {"kind": True, "by": True, "note": False}

    async def handler(request: web.Request) -> web.Response:
        who = _bureau_and_alert(request)
        if isinstance(who, web.Response):
            return who
        bureau, aid = who
        try:
            body = await _body(request, fields)
        except ValueError as exc:
            return error(400, str(exc))
        if kind == "disposition":
            if body["kind"] not in ("advised", "case_opened"):
                return error(400, "`kind`: advised or case_opened")
            to = body["kind"]
        else:
            to = {"ack": "acknowledged", "close": "closed"}[kind]
        try:
            result = await request.app[SERVICE].run_api(
                lambda reg: reg.change(bureau, aid, to, body["by"], body.get("note", "")))
        except NotFound:
            return error(404, f"no alert {aid} in this bureau's regions")
        except StatusError as exc:
            return error(409, str(exc).split(": ", 1)[-1])
        except StoreError as exc:
            return error(409, str(exc))
        return json_response(result)

    handler.__doc__ = f"POST /v1/alerts/{{id}}/{kind}: an audited status change."
    return handler


async def daily_stats(request: web.Request) -> web.Response:
    """GET /v1/stats/daily: alerts per day and family (JSON, or an SVG chart)."""
    bureau = _bureau(request)
    if bureau is None:
        return _unauthorized("bureau token")
    q = request.query
    try:
        days = _int(q, "days", 1, 92, 14)
        fmt = _choice(q, "format", ("json", "svg")) or "json"
        until = q.get("until")
        last: date | None = None
        if until is not None:
            if not _DATE.match(until):
                raise ValueError("until: a date YYYY-MM-DD")
            try:
                last = date.fromisoformat(until)
            except ValueError:
                raise ValueError(f"until: not a valid date: {until!r}") from None
    except ValueError as exc:
        return error(400, str(exc))
    svc = request.app[SERVICE]

    def work(reg: Any) -> tuple[list[str], dict[str, list[int]]]:
        end = last or reg.newest_day(bureau) or datetime.now(CHINA).date()
        end = min(end, date.max - timedelta(days=1))  # the day after `end` must exist
        first = date.min if (end - date.min).days < days - 1 else end - timedelta(days=days - 1)
        return reg.daily(bureau, first, end)

    day_list, series = await svc.run_api(work)
    if fmt == "svg":
        svg = stacked_bars(day_list, series, f"每日预警数（按违法类型） {day_list[0]} 至 {day_list[-1]}")
        return web.Response(text=svg, content_type="image/svg+xml")
    return json_response({"days": day_list, "series": series})


# -- plumbing -------------------------------------------------------------------
async def healthz(request: web.Request) -> web.Response:
    """GET /healthz: the process answers."""
    return json_response({"status": "ok"})


async def openapi_json(request: web.Request) -> web.Response:
    """GET /openapi.json: the contract."""
    return json_response(openapi.openapi_document())


async def metrics(request: web.Request) -> web.Response:
    """GET /metrics: Prometheus text format (same metric names as `hongdun run --metrics-file`)."""
    svc = request.app[SERVICE]
    svc.metrics.queue_depth.set(svc.depth.value)
    return web.Response(body=generate_latest(svc.metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


def retry_seconds(excess: int, rate: float) -> int:
    """Seconds until ``excess`` queued events are processed at ``rate`` events/s, between 1 and 60."""
    return max(1, min(60, math.ceil(excess / max(rate, 1.0))))


def add_routes(app: web.Application) -> None:
    """Register every API route."""
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/openapi.json", openapi_json)
    app.router.add_get("/metrics", metrics)
    app.router.add_post("/v1/events", post_events)
    app.router.add_get("/v1/status", get_status)
    app.router.add_get("/v1/me", get_me)
    app.router.add_get("/v1/alerts", list_alerts)
    app.router.add_get("/v1/alerts/{alert_id}", get_alert)
    app.router.add_get("/v1/alerts/{alert_id}/referral", get_referral)
    for kind in ("ack", "disposition", "close"):
        app.router.add_post(f"/v1/alerts/{{alert_id}}/{kind}", _change_handler(kind))
    app.router.add_get("/v1/stats/daily", daily_stats)
