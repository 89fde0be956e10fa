"""Bytes to :data:`~engine.events.schema.Event`, or a :class:`~engine.events.deadletter.Reject`.

The hot path is one ``msgspec.json.Decoder(Event)`` call that parses and
validates in a single pass (faster than ``orjson.loads`` plus Python checks),
then a USCC check-digit lookup in a small cache. Everything else — working out
*why* an event failed — happens only for failures, on a slow path that re-reads
the bytes as generic JSON. That second read is what makes the reason
independent of field order: a ``schema_ver: "2.0"`` event is reported as
``unsupported_schema_version`` even if an earlier field also looks wrong to v1.

:meth:`EventDecoder.decode` never raises: every failure, including a bug in
hongdun, comes back as a ``Reject`` carrying the raw bytes.

Input conventions (see docs/events.md):

* one event per call; in JSONL, one event per line. **Blank lines are not
  events**: runtimes skip lines that are empty or whitespace-only before calling
  ``decode`` (if passed anyway they are rejected as ``bad_json``);
* a leading UTF-8 BOM is ignored; trailing whitespace (``\\n``, ``\\r\\n``) is fine;
* unknown fields are ignored (forward compatibility within 1.x). Their content
  is not inspected, so invalid UTF-8 inside an unknown field is not detected.
"""
from __future__ import annotations

import re
from typing import Any, NamedTuple, Sequence

import msgspec

from engine.errors import Location
from engine.events import deadletter as dl
from engine.events.deadletter import Reject, make_reject
from engine.events.schema import (EVENT_CLASSES, EVENT_TYPES, REGION_CODE_PATTERN, SCHEMA_MAJOR, SCHEMA_VER_PATTERN,
                                  Complaint, Event, event_type_of)
from engine.events.uscc import CHARSET, check_char, is_valid_uscc

__all__ = ["DEFAULT_MAX_BYTES", "DecodedBatch", "EventDecoder"]

DEFAULT_MAX_BYTES = 1_048_576
_BOM = b"\xef\xbb\xbf"
_AT = re.compile(r" - at `(\$[^`]*)`$")
_MISSING = re.compile(r"^Object missing required field `([^`]*)`")
_VERSION = re.compile(r"([0-9]+)(?:\.[0-9]+)*")  # used with fullmatch
_USCC_PATH = "$.merchant.uscc"
_REGION = re.compile(REGION_CODE_PATTERN)
_SCHEMA_VER = re.compile(SCHEMA_VER_PATTERN)
_UNPARSED = object()
_JSON_KIND = {dict: "object", list: "array", str: "string", int: "number", float: "number", bool: "boolean"}


class DecodedBatch(NamedTuple):
    """Result of :meth:`EventDecoder.decode_batch`, in input order within each list."""

    events: list[tuple[Event, Location]]
    """Accepted events, each with the location it was read from."""
    rejects: list[Reject]
    """Rejected inputs; each carries its location in ``Reject.source``."""


class EventDecoder:
    """Decodes and validates raw events against schema v1.

    Build one per worker and reuse it: it holds the compiled msgspec decoder
    and a bounded cache of USCCs already verified (merchants repeat, so most
    events skip the check-digit arithmetic).
    """

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES, *, uscc_cache_size: int = 65_536) -> None:
        self.max_bytes = max_bytes
        self._decode_json = msgspec.json.Decoder(Event).decode
        self._uscc_cache_size = uscc_cache_size
        self._valid_uscc: set[str] = set()
        self._valid_regions: set[str] = set()  # region codes that matched their pattern (bounded like the USCCs)
        self._valid_versions: set[str] = set()

    def decode(self, raw: bytes, source: Location) -> Event | Reject:
        """Decode one event. Never raises; failures come back as a ``Reject``.

        ``raw`` is one complete JSON object (no framing); ``max_bytes`` applies
        to ``len(raw)``. ``source`` is copied into the reject so it can say where.
        """
        try:
            if len(raw) > self.max_bytes:
                return make_reject(
                    dl.TOO_LARGE, f"event is {len(raw)} bytes; the limit is {self.max_bytes}", raw, source
                )
            # Index before slicing: a 3-byte slice on every event costs more.
            event = self._decode_json(raw[3:] if raw[0] == 0xEF and raw[:3] == _BOM else raw)
            wrong = self._check_patterns(event)
            if wrong is not None:
                return self._reject(msgspec.ValidationError(wrong), raw, source)
            uscc = event.merchant.uscc
            if uscc is None or uscc in self._valid_uscc:
                return event
            return self._check_uscc(event, uscc, raw, source)
        except Exception as exc:  # noqa: BLE001 - the whole point: never raise
            return self._reject(exc, raw, source)

    def decode_batch(self, items: Sequence[tuple[bytes, Location]]) -> DecodedBatch:
        """Decode ``(raw, location)`` pairs; accepted events keep their location."""
        events: list[tuple[Event, Location]] = []
        rejects: list[Reject] = []
        decode_json, valid_uscc, max_bytes = self._decode_json, self._valid_uscc, self.max_bytes
        regions, versions = self._valid_regions, self._valid_versions
        for raw, source in items:
            # Inlined common case; anything unusual (failure, BOM, unseen USCC,
            # region code or version) goes through decode() from scratch so both paths agree exactly.
            try:
                if len(raw) <= max_bytes and raw[0] != 0xEF:
                    event = decode_json(raw)
                    m = event.merchant
                    uscc = m.uscc
                    if (
                        (uscc is None or uscc in valid_uscc)
                        and m.reg_region_code in regions
                        and m.op_region_code in regions
                        and event.schema_ver in versions
                        and (event.__class__ is not Complaint or event.complainant_region_code is None
                             or event.complainant_region_code in regions)
                    ):
                        events.append((event, source))
                        continue
            except Exception:  # noqa: BLE001, S112 - decode() below reports it
                pass
            result = self.decode(raw, source)
            if type(result) is Reject:
                rejects.append(result)
            else:
                events.append((result, source))  # type: ignore[arg-type]
        return DecodedBatch(events, rejects)

    # -- slow paths ---------------------------------------------------------

    def _check_patterns(self, event: Event) -> str | None:
        """The error msgspec would give for the first string breaking its pattern (schema.py says why here), or None."""
        checks = [("$.schema_ver", event.schema_ver, _SCHEMA_VER, self._valid_versions),
                  ("$.merchant.reg_region_code", event.merchant.reg_region_code, _REGION, self._valid_regions),
                  ("$.merchant.op_region_code", event.merchant.op_region_code, _REGION, self._valid_regions)]
        if isinstance(event, Complaint) and event.complainant_region_code is not None:
            checks.append(("$.complainant_region_code", event.complainant_region_code, _REGION, self._valid_regions))
        for path, value, pattern, seen in checks:
            if value in seen:
                continue
            if pattern.fullmatch(value) is None:  # not search: "1.0\n" passes ``$`` in Python, not in JSON Schema
                return f"Expected `str` matching regex {pattern.pattern!r} - at `{path}`"
            if len(seen) >= self._uscc_cache_size:
                seen.clear()
            seen.add(value)
        return None

    def _check_uscc(self, event: Event, uscc: str, raw: bytes, source: Location) -> Event | Reject:
        if is_valid_uscc(uscc):
            if len(self._valid_uscc) >= self._uscc_cache_size:
                self._valid_uscc.clear()  # crude but O(1) amortised; hot merchants come straight back
            self._valid_uscc.add(uscc)
            return event
        if len(uscc) == 18 and all(c in CHARSET for c in uscc) and uscc[2:8].isdigit():
            message = (
                f"USCC {uscc!r} fails the GB 32100-2015 check: "
                f"the last character should be {check_char(uscc[:17])!r}"
            )
        else:
            message = (
                f"USCC {uscc!r} is malformed: GB 32100-2015 wants 18 characters from "
                f"{CHARSET} with digits in positions 3-8"
            )
        return make_reject(
            dl.BAD_USCC,
            message,
            raw,
            source,
            path=_USCC_PATH,
            event_id=event.event_id,
            event_type=event_type_of(event),
        )

    def _reject(self, exc: Exception, raw: Any, source: Location) -> Reject:
        try:
            return _classify(exc, raw, source)
        except Exception as bug:  # noqa: BLE001
            try:
                return make_reject(
                    dl.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}; then {type(bug).__name__}: {bug}", raw, source
                )
            except Exception:  # noqa: BLE001 - raw or source is not what the signature says
                return Reject(reason=dl.INTERNAL_ERROR, message=f"undecodable input: {type(bug).__name__}: {bug}")


def _classify(exc: Exception, raw: Any, source: Location) -> Reject:
    """Work out the reason for a failed decode.

    Order matters and goes from coarse to fine: bytes, JSON syntax, shape,
    event type, schema version, then the first field error msgspec found.
    """
    data = bytes(raw)
    bom = 3 if data.startswith(_BOM) else 0
    data = data[bom:]

    def reject(reason: str, message: str, path: str | None = None) -> Reject:
        return make_reject(reason, message, raw, source, path=path, event_id=event_id, event_type=event_type)

    event_id = event_type = None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        return reject(dl.NOT_UTF8, f"invalid UTF-8 at byte {e.start + bom}: {e.reason}")

    try:
        doc: Any = msgspec.json.decode(data)
    except msgspec.ValidationError:  # a subclass of DecodeError, so caught first
        doc = _UNPARSED  # e.g. a number out of range: fall through to msgspec's own error
    except msgspec.DecodeError as e:
        if not data.strip():
            return reject(dl.BAD_JSON, "empty input (blank lines are not events; skip them before decoding)")
        return reject(dl.BAD_JSON, f"not valid JSON: {e}")
    except RecursionError:
        return reject(dl.BAD_JSON, "JSON is nested too deeply")

    if doc is not _UNPARSED:
        if not isinstance(doc, dict):
            return reject(dl.NOT_OBJECT, f"expected a JSON object, got {_JSON_KIND.get(type(doc), 'null')}")
        if isinstance(doc.get("event_id"), str):
            event_id = doc["event_id"]
        if isinstance(doc.get("event_type"), str):
            event_type = doc["event_type"]
        if "event_type" not in doc:
            return reject(dl.MISSING_FIELD, "missing required field `event_type`", "$.event_type")
        if event_type not in EVENT_CLASSES:
            return reject(dl.UNKNOWN_EVENT_TYPE, _unknown_type_message(doc["event_type"]), "$.event_type")
        version = doc.get("schema_ver")
        if isinstance(version, str) and (m := _VERSION.fullmatch(version)) and int(m[1]) != SCHEMA_MAJOR:
            return reject(
                dl.UNSUPPORTED_SCHEMA_VERSION,
                f"schema_ver {version!r} has major version {int(m[1])}; this decoder accepts {SCHEMA_MAJOR}.x",
                "$.schema_ver",
            )

    if not isinstance(exc, msgspec.ValidationError):
        if isinstance(exc, msgspec.DecodeError):
            return reject(dl.BAD_JSON, f"not valid JSON: {exc}")
        if isinstance(exc, RecursionError):
            return reject(dl.BAD_JSON, "JSON is nested too deeply")
        if isinstance(exc, UnicodeDecodeError):  # unreachable after the check above; kept for safety
            return reject(dl.NOT_UTF8, str(exc))
        return reject(dl.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}")

    text = str(exc)
    at = _AT.search(text)
    path = at[1] if at else "$"
    message = text[: at.start()] if at else text
    if missing := _MISSING.match(message):
        return reject(dl.MISSING_FIELD, f"missing required field `{missing[1]}`", f"{path}.{missing[1]}")
    if path == "$.event_type":
        return reject(dl.UNKNOWN_EVENT_TYPE, _unknown_type_message(None), path)
    if path == "$" and message.startswith("Expected `object`"):
        return reject(dl.NOT_OBJECT, message)
    if path == _USCC_PATH and ", got `" not in message:  # a string, but the wrong length
        return reject(dl.BAD_USCC, "not a well-formed 18-character USCC (统一社会信用代码): " + message, path)
    return reject(dl.BAD_FIELD, message, path)


def _unknown_type_message(value: object) -> str:
    shown = "" if value is None else f" {value!r}"
    return f"unknown event_type{shown}; schema v1 has: {', '.join(EVENT_TYPES)}"
