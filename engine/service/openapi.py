"""The OpenAPI 3.0 document of the service: the contract the handlers honour and the tests check.

Served at ``/openapi.json``; ``tests/service/test_openapi_contract.py`` runs
schemathesis against the live service with it. Schemas are strict
(``additionalProperties: false`` on request bodies, enums, bounds), and the
handlers check exactly these constraints, so a request the document calls
invalid is answered 4xx and a valid one gets a documented answer.
"""
from __future__ import annotations

from typing import Any

from engine.alerts.store.status import STATUSES
from engine.rules.model import SEVERITIES

ALERT_ID = r"^[0-9a-f]{32}$"
DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
DATETIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
REGION = r"^[1-9][0-9]{5}$"


def _err(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _json(ref: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


_WHEN = {"type": "string", "anyOf": [{"format": "date"}, {"format": "date-time"}]}
_ID_PARAM = {"name": "alert_id", "in": "path", "required": True, "schema": {"type": "string", "pattern": ALERT_ID},
             "description": "the alert id (32 hex characters)"}
_BUREAU = [{"bureauToken": []}]
_CHANGE_ERRORS = {"400": _err("invalid body"), "401": _err("no or unknown bureau token"),
                  "404": _err("no such alert in this bureau's regions"),
                  "409": _err("the life cycle does not allow this move")}


def _change(summary: str, body_ref: str) -> dict[str, Any]:
    return {"post": {
        "summary": summary, "security": _BUREAU, "parameters": [_ID_PARAM],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body_ref}"}}}},
        "responses": {"200": _json("StatusChangeResult", "the status after the call (changed=false: it already was there)"),
                      **_CHANGE_ERRORS},
    }}


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.0.3 document as a JSON-ready dict."""
    alert_summary = {
        "type": "object",
        "required": ["alert_id", "status", "status_cn", "severity", "family", "rule_id", "rule_title", "merchant_id",
                     "merchant_name", "region_code", "platform", "event_time", "hits", "message"],
        "properties": {
            "alert_id": {"type": "string", "pattern": ALERT_ID}, "status": {"type": "string", "enum": list(STATUSES)},
            "status_cn": {"type": "string"}, "severity": {"type": "string", "enum": list(SEVERITIES)},
            "family": {"type": "string"}, "rule_id": {"type": "string"}, "rule_title": {"type": "string"},
            "merchant_id": {"type": "string"}, "merchant_name": {"type": "string"},
            "region_code": {"type": "string"}, "platform": {"type": "string"}, "event_time": {"type": "string"},
            "last_seen": {"type": "string", "nullable": True}, "hits": {"type": "integer", "minimum": 1},
            "message": {"type": "string"},
            "disposition": {"type": "string", "nullable": True,
                            "description": "advisory (提醒告诫), case (立案), review (a model's lead: human review)"},
            "route": {"type": "string", "nullable": True, "enum": ["local", "platform_home", "referral", None]},
        },
    }
    actor = {"by": {"type": "string", "minLength": 1, "maxLength": 64,
                    "description": "the person making the change (recorded with the bureau's name)"},
             "note": {"type": "string", "maxLength": 2000, "description": "why (recorded in the audit trail)"}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "hongdun (红盾) service API", "version": "1",
                 "description": "Event ingest for platforms and the early-warning API for market regulators. "
                                "Platforms authenticate with their API key, bureaus with their token "
                                "(Authorization: Bearer …); a bureau sees only its own regions."},
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {
                "platformKey": {"type": "http", "scheme": "bearer", "description": "a platform's ingest API key"},
                "bureauToken": {"type": "http", "scheme": "bearer", "description": "a bureau's token (region-scoped)"},
            },
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
                "Event": {"type": "object", "description": "one event of schema v1 (see `hongdun schema`); an object that is "
                                                           "not a valid event is answered 202 with its reason in `rejects`"},
                "IngestReject": {
                    "type": "object", "required": ["index", "reason", "message"],
                    "properties": {"index": {"type": "integer", "minimum": 0, "description": "0-based position among the request's events"},
                                   "line": {"type": "integer", "minimum": 1, "description": "NDJSON line number"},
                                   "reason": {"type": "string"}, "message": {"type": "string"},
                                   "path": {"type": "string", "nullable": True},
                                   "event_id": {"type": "string", "nullable": True}}},
                "IngestResult": {
                    "type": "object", "required": ["accepted", "rejected", "rejects", "queue_depth"],
                    "properties": {"accepted": {"type": "integer", "minimum": 0,
                                                "description": "events durably queued before this answer"},
                                   "rejected": {"type": "integer", "minimum": 0},
                                   "rejects": {"type": "array", "items": {"$ref": "#/components/schemas/IngestReject"}},
                                   "queue_depth": {"type": "integer", "minimum": 0}}},
                "Status": {
                    "type": "object", "required": ["queue_depth", "accepted", "processed", "rejected"],
                    "properties": {k: {"type": "integer", "minimum": 0}
                                   for k in ("queue_depth", "accepted", "processed", "rejected", "throttled")}},
                "Me": {"type": "object", "required": ["name", "regions"],
                       "properties": {"name": {"type": "string"}, "regions": {"type": "array", "items": {"type": "string"}}}},
                "AlertSummary": alert_summary,
                "AlertList": {"type": "object", "required": ["alerts", "count", "limit"],
                              "properties": {"alerts": {"type": "array", "items": {"$ref": "#/components/schemas/AlertSummary"}},
                                             "count": {"type": "integer", "minimum": 0},
                                             "limit": {"type": "integer", "minimum": 1}}},
                "AlertDetail": {
                    "type": "object",
                    "required": ["status", "status_cn", "version", "record_hash", "allowed", "alert", "evidence", "model",
                                 "versions", "status_changes"],
                    "properties": {
                        "status": {"type": "string", "enum": list(STATUSES)}, "status_cn": {"type": "string"},
                        "version": {"type": "integer", "minimum": 1}, "record_hash": {"type": "string"},
                        "allowed": {"type": "array", "items": {"type": "string", "enum": list(STATUSES)}},
                        "alert": {"type": "object", "description": "the alert record (`hongdun schema --alerts`)"},
                        "evidence": {"type": "array", "items": {
                            "type": "object", "required": ["field", "text", "spans"],
                            "properties": {"field": {"type": "string"}, "text": {"type": "string"},
                                           "spans": {"type": "array", "items": {"type": "array", "items": {"type": "integer"},
                                                                                 "minItems": 2, "maxItems": 2}}}}},
                        "model": {"type": "object", "nullable": True},
                        "versions": {"type": "array", "items": {"type": "object"}},
                        "status_changes": {"type": "array", "items": {
                            "type": "object", "required": ["from", "to", "actor", "at", "note"],
                            "properties": {"from": {"type": "string"}, "to": {"type": "string"}, "actor": {"type": "string"},
                                           "at": {"type": "string"}, "note": {"type": "string"},
                                           "change_hash": {"type": "string"}}}},
                    }},
                "StatusChange": {"type": "object", "required": ["by"], "additionalProperties": False, "properties": actor},
                "Disposition": {"type": "object", "required": ["kind", "by"], "additionalProperties": False,
                                "properties": {"kind": {"type": "string", "enum": ["advised", "case_opened"],
                                                        "description": "advised = 提醒告诫/行政指导, case_opened = 立案"},
                                               **actor}},
                "StatusChangeResult": {"type": "object", "required": ["alert_id", "status", "status_cn", "changed"],
                                       "properties": {"alert_id": {"type": "string"},
                                                      "status": {"type": "string", "enum": list(STATUSES)},
                                                      "status_cn": {"type": "string"}, "changed": {"type": "boolean"}}},
                "Daily": {"type": "object", "required": ["days", "series"],
                          "properties": {"days": {"type": "array", "items": {"type": "string"}},
                                         "series": {"type": "object", "additionalProperties": {
                                             "type": "array", "items": {"type": "integer", "minimum": 0}}}}},
            },
        },
        "paths": {
            "/healthz": {"get": {"summary": "liveness", "security": [],
                                 "responses": {"200": {"description": "up", "content": {"application/json": {
                                     "schema": {"type": "object", "required": ["status"],
                                                "properties": {"status": {"type": "string"}}}}}}}}},
            "/v1/events": {"post": {
                "summary": "post a batch of events (JSON event, JSON array, or NDJSON)", "security": [{"platformKey": []}],
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": {"oneOf": [
                        {"$ref": "#/components/schemas/Event"},
                        {"type": "array", "minItems": 1, "items": {},
                         "description": "a batch: each element is checked on its own; those that are not valid "
                                        "events are listed in `rejects` by index and reason, the others are queued"}]}},
                    "application/x-ndjson": {"schema": {"type": "string", "pattern": "\\S",
                                                        "description": "one event per line; blank lines are skipped"}}}},
                "responses": {
                    "202": _json("IngestResult", "accepted events are durably queued; rejects name index and reason"),
                    "400": _err("the body is not an event, an array of events or NDJSON"),
                    "401": _err("no or unknown platform key"),
                    "413": _err("request too large (bytes or events)"),
                    "415": _err("unsupported content type"),
                    "429": {"description": "the pipeline is behind; retry after the given seconds",
                            "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}},
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                }}},
            "/v1/status": {"get": {"summary": "queue depth and ingest totals", "security": [{"platformKey": []}, {"bureauToken": []}],
                                   "responses": {"200": _json("Status", "totals since the queue file was created"),
                                                 "401": _err("no or unknown key")}}},
            "/v1/me": {"get": {"summary": "the calling bureau", "security": _BUREAU,
                               "responses": {"200": _json("Me", "bureau name and regions"), "401": _err("no or unknown token")}}},
            "/v1/alerts": {"get": {
                "summary": "list alerts of the bureau's regions, newest first", "security": _BUREAU,
                "parameters": [
                    {"name": "severity", "in": "query", "schema": {"type": "string", "enum": list(SEVERITIES)},
                     "description": "at least this severity"},
                    {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(STATUSES)}},
                    {"name": "family", "in": "query", "schema": {"type": "string", "minLength": 1, "maxLength": 64}},
                    {"name": "rule", "in": "query", "schema": {"type": "string", "minLength": 1, "maxLength": 64}},
                    {"name": "merchant", "in": "query", "schema": {"type": "string", "minLength": 1, "maxLength": 128}},
                    {"name": "platform", "in": "query", "schema": {"type": "string", "minLength": 1, "maxLength": 64}},
                    {"name": "region", "in": "query", "schema": {"type": "string", "pattern": REGION},
                     "description": "narrow to a region inside the bureau's own"},
                    {"name": "since", "in": "query", "schema": _WHEN,
                     "description": "event time from, inclusive: a date (its 00:00 China time) or an RFC 3339 time"},
                    {"name": "until", "in": "query", "schema": _WHEN,
                     "description": "event time before, exclusive: a date (its 00:00 China time) or an RFC 3339 time"},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
                ],
                "responses": {"200": _json("AlertList", "matching alerts"), "400": _err("invalid filter"),
                              "401": _err("no or unknown bureau token")}}},
            "/v1/alerts/{alert_id}": {"get": {
                "summary": "one alert with evidence, versions and status history", "security": _BUREAU,
                "parameters": [_ID_PARAM],
                "responses": {"200": _json("AlertDetail", "the alert"), "400": _err("invalid alert id"),
                              "401": _err("no or unknown bureau token"),
                              "404": _err("no such alert in this bureau's regions")}}},
            "/v1/alerts/{alert_id}/ack": _change("acknowledge (签收)", "StatusChange"),
            "/v1/alerts/{alert_id}/disposition": _change("record a disposition: advised (提醒告诫) or case opened (立案)",
                                                         "Disposition"),
            "/v1/alerts/{alert_id}/close": _change("close (办结); give a note for a false alarm", "StatusChange"),
            "/v1/alerts/{alert_id}/referral": {"get": {
                "summary": "the referral package (跨区域移送): alert, source events as posted, rule text, hashes",
                "security": _BUREAU, "parameters": [_ID_PARAM],
                "responses": {"200": {"description": "the package (format hongdun-referral)", "content": {
                    "application/json": {"schema": {"type": "object", "required": ["format", "package_sha256"]}}}},
                    "400": _err("invalid alert id"), "401": _err("no or unknown bureau token"),
                    "404": _err("no such alert in this bureau's regions")}}},
            "/v1/stats/daily": {"get": {
                "summary": "alerts per day (China time, by event time) and family in the bureau's regions",
                "security": _BUREAU,
                "parameters": [{"name": "days", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 92, "default": 14}},
                               {"name": "until", "in": "query", "schema": {"type": "string", "format": "date"},
                                "description": "last day (default: the day of the newest alert, else today)"},
                               {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json", "svg"], "default": "json"}}],
                "responses": {"200": {"description": "counts, or an SVG chart with format=svg", "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Daily"}},
                    "image/svg+xml": {"schema": {"type": "string"}}}},
                    "400": _err("invalid parameter"), "401": _err("no or unknown bureau token")}}},
        },
    }
