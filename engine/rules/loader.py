"""Load a rule pack folder into model objects, collecting every error.

A pack is a folder ``rules/<pack>/`` holding ``pack.yaml`` (name, version,
description, keyword lists, windows, defaults) and rule files (every other
``*.yaml`` in the folder, each with a top-level ``rules:`` list and, if a
family keeps them to itself, its own ``lists:`` and ``windows:``). Case files
for ``hongdun rules test`` live in ``tests/*.yaml`` inside the pack.

Each YAML mapping is read through a declared key registry: unknown keys are
errors naming the key and its position, required keys are checked, and no
value is silently defaulted except where the format says so. Errors are
collected (not raised one by one) so lint can report all of them.
"""
from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from engine.errors import Location, PackError, PackErrors
from engine.events.schema import EVENT_TYPES
from engine.rules.expr import Condition, parse_condition
from engine.rules.model import (
    SEVERITIES,
    STATUSES,
    Escalation,
    Example,
    KeywordList,
    LegalBasis,
    Pack,
    Rule,
    WindowDef,
)
from engine.rules.yamlsrc import LList, LMap, LStr, load_yaml_file
from engine.state.windows import WindowSpec, default_bucket

AGGREGATES = frozenset({"count", "sum", "min", "max", "mean", "std", "distinct", "last", "bucket_mean", "bucket_std"})
_VALUE_AGGS = frozenset({"sum", "min", "max", "mean", "std", "last"})
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RULE_ID = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_DURATION_S = 30 * 86400
MAX_RULES = 2000
MAX_EXAMPLES_PER_RULE = 50


def parse_duration(value: Any, loc: Location, what: str = "duration") -> int:
    """'90s', '30m', '24h', '7d' -> seconds; raise PackError otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    else:
        m = _DURATION.match(str(value)) if isinstance(value, str) else None
        if m is None:
            raise PackError(f"{what} {value!r}: write a number with s, m, h or d (e.g. 24h, 7d)", loc)
        seconds = int(m.group(1)) * _UNITS[m.group(2)]
    if not 0 < seconds <= MAX_DURATION_S:
        raise PackError(f"{what} must be between 1s and 30d", loc)
    return seconds


@dataclass
class _Ctx:
    errors: list[PackError]
    file: str | None = None  # the file being read, for values that carry no position of their own

    def err(self, message: str, loc: Location, rule_id: str | None = None) -> None:
        if loc.file is None and self.file is not None:
            loc = Location(file=self.file, rule_id=loc.rule_id)
        if rule_id is not None:
            loc = Location(file=loc.file, line=loc.line, col=loc.col, rule_id=rule_id)
        self.errors.append(PackError(message, loc))


def _keys(ctx: _Ctx, m: Any, what: str, allowed: set[str], required: set[str], rule_id: str | None = None) -> bool:
    """Check a mapping's keys against a registry; report unknown and missing ones."""
    if not isinstance(m, LMap):
        loc = getattr(m, "loc", Location())
        ctx.err(f"{what} must be a mapping, got {_kind(m)}", loc, rule_id)
        return False
    for key in m:
        if key not in allowed:
            hint = difflib.get_close_matches(key, allowed, n=1)
            ctx.err(f"unknown key {key!r} in {what}" + (f" (did you mean {hint[0]!r}?)" if hint else ""), m.key_locs[key], rule_id)
    missing = sorted(required - set(m))
    for key in missing:
        ctx.err(f"{what} is missing required key {key!r}", m.loc, rule_id)
    return not missing


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _str(ctx: _Ctx, m: LMap, key: str, what: str, rule_id: str | None = None, default: str | None = None) -> str | None:
    if key not in m:
        return default
    value = m[key]
    if not isinstance(value, str):
        ctx.err(f"{what}.{key} must be text", m.loc_of(key), rule_id)
        return default
    return str(value)


def _str_list(ctx: _Ctx, m: LMap, key: str, what: str, rule_id: str | None = None) -> list[str]:
    if key not in m:
        return []
    value = m[key]
    if isinstance(value, str):
        return [str(value)]
    if not isinstance(value, LList) or not all(isinstance(v, str) for v in value):
        ctx.err(f"{what}.{key} must be a list of text", m.loc_of(key), rule_id)
        return []
    return [str(v) for v in value]


def _condition(ctx: _Ctx, value: Any, loc: Location, rule_id: str | None, what: str) -> Condition | None:
    if not isinstance(value, str):
        ctx.err(f"{what} must be a condition written as text", loc, rule_id)
        return None
    origin = value.content_loc if isinstance(value, LStr) else loc
    origin = Location(file=origin.file, line=origin.line, col=origin.col, rule_id=rule_id)
    # A folded (>) block joins its lines; parse the lines as written so positions stay exact.
    text = value.raw if isinstance(value, LStr) and value.block else str(value)
    try:
        return parse_condition(text, origin)
    except PackError as exc:
        ctx.errors.append(exc)
        return None


def _path_condition(ctx: _Ctx, value: Any, loc: Location, rule_id: str | None, what: str) -> Condition | None:
    cond = _condition(ctx, value, loc, rule_id, what)
    if cond is None:
        return None
    from engine.rules.expr import dotted_path

    if dotted_path(cond.tree.body) is None:
        ctx.err(f"{what} must be a field path such as merchant.merchant_id", loc, rule_id)
        return None
    return cond


def _event_types(ctx: _Ctx, m: LMap, key: str, what: str, rule_id: str | None = None) -> tuple[str, ...]:
    names = _str_list(ctx, m, key, what, rule_id)
    good = []
    for name in names:
        if name not in EVENT_TYPES:
            hint = difflib.get_close_matches(name, EVENT_TYPES, n=1)
            ctx.err(f"unknown event type {name!r}" + (f" (did you mean {hint[0]!r}?)" if hint else f" (one of: {', '.join(EVENT_TYPES)})"), m.loc_of(key), rule_id)
        else:
            good.append(name)
    if key in m and not names:
        ctx.err(f"{what}.{key} must name at least one event type", m.loc_of(key), rule_id)
    return tuple(good)


# -- pack.yaml ---------------------------------------------------------------

_PACK_KEYS = {"pack", "version", "description", "lists", "windows", "defaults", "maintainers"}
_LIST_KEYS = {"source", "terms", "homophones", "numerals", "description"}
_WINDOW_KEYS = {"events", "key", "duration", "bucket", "aggregates", "value", "distinct", "where", "exclude_recent", "allowed_lateness", "description"}
_DEFAULT_KEYS = {"dedup", "allowed_lateness"}


def _load_list(ctx: _Ctx, name: str, m: Any, loc: Location) -> KeywordList | None:
    if not _NAME.match(name):
        ctx.err(f"list name {name!r}: use lower_snake_case", loc)
    if not _keys(ctx, m, f"list {name!r}", _LIST_KEYS, {"source", "terms"}):
        return None
    terms = _str_list(ctx, m, "terms", f"list {name!r}")
    if "terms" in m and not terms:
        ctx.err(f"list {name!r} has no terms", m.loc_of("terms"))
    seen: dict[str, int] = {}
    for i, t in enumerate(terms):
        if not t.strip():
            ctx.err(f"list {name!r}: empty term", m["terms"].loc_of(i) if isinstance(m.get("terms"), LList) else m.loc)
        if t in seen:
            ctx.err(f"list {name!r}: duplicate term {t!r}", m["terms"].loc_of(i) if isinstance(m.get("terms"), LList) else m.loc)
        seen[t] = i
    flags = {}
    for flag, default in (("homophones", False), ("numerals", True)):
        v = m.get(flag, default)
        if not isinstance(v, bool):
            ctx.err(f"list {name!r}: {flag} must be true or false", m.loc_of(flag))
            v = default
        flags[flag] = v
    return KeywordList(name, tuple(terms), _str(ctx, m, "source", "list") or "", flags["homophones"], flags["numerals"], m.loc)


def _load_window(ctx: _Ctx, name: str, m: Any, defaults: dict[str, int]) -> WindowDef | None:
    if not _NAME.match(name):
        ctx.err(f"window name {name!r}: use lower_snake_case", getattr(m, "loc", Location()))
    if not _keys(ctx, m, f"window {name!r}", _WINDOW_KEYS, {"events", "key", "duration", "aggregates"}):
        return None
    events = _event_types(ctx, m, "events", f"window {name!r}")
    key_raw = m.get("key")
    key_items = [key_raw] if isinstance(key_raw, str) else list(key_raw) if isinstance(key_raw, LList) else []
    if key_raw is not None and not key_items:
        ctx.err(f"window {name!r}: key must be a field path or a list of them", m.loc_of("key"))
    key_conds = []
    for i, item in enumerate(key_items):
        loc = key_raw.loc_of(i) if isinstance(key_raw, LList) else m.loc_of("key")
        cond = _path_condition(ctx, item, loc, None, f"window {name!r} key")
        if cond is not None:
            key_conds.append(cond)
    try:
        duration = parse_duration(m.get("duration"), m.loc_of("duration"))
    except PackError as exc:
        ctx.errors.append(exc)
        return None
    try:
        try:
            bucket = parse_duration(m["bucket"], m.loc_of("bucket"), "bucket") if "bucket" in m else default_bucket(duration)
        except ValueError as exc:
            raise PackError(f"window {name!r}: {exc}", m.loc_of("duration")) from None
        exclude = parse_duration(m["exclude_recent"], m.loc_of("exclude_recent"), "exclude_recent") if "exclude_recent" in m else 0
        lateness = (
            parse_duration(m["allowed_lateness"], m.loc_of("allowed_lateness"), "allowed_lateness")
            if "allowed_lateness" in m
            else defaults.get("allowed_lateness", 3600)
        )
    except PackError as exc:
        ctx.errors.append(exc)
        return None
    if duration % bucket:
        ctx.err(f"window {name!r}: duration must be a whole number of buckets ({bucket}s)", m.loc_of("bucket"))
        return None
    if exclude >= duration:
        ctx.err(f"window {name!r}: exclude_recent must be shorter than the duration", m.loc_of("exclude_recent"))
    aggs = _str_list(ctx, m, "aggregates", f"window {name!r}")
    for a in aggs:
        if a not in AGGREGATES:
            ctx.err(f"window {name!r}: unknown aggregate {a!r} (one of: {', '.join(sorted(AGGREGATES))})", m.loc_of("aggregates"))
    aggs = [a for a in aggs if a in AGGREGATES]
    value = distinct = None
    if "value" in m:
        value = _condition(ctx, m["value"], m.loc_of("value"), None, f"window {name!r} value")
    elif _VALUE_AGGS & set(aggs):
        ctx.err(f"window {name!r}: aggregates {sorted(_VALUE_AGGS & set(aggs))} need a 'value' field", m.loc)
    if "distinct" in m:
        distinct = _condition(ctx, m["distinct"], m.loc_of("distinct"), None, f"window {name!r} distinct")
    elif "distinct" in aggs:
        ctx.err(f"window {name!r}: aggregate 'distinct' needs a 'distinct' field", m.loc)
    where = _condition(ctx, m["where"], m.loc_of("where"), None, f"window {name!r} where") if "where" in m else None
    from engine.rules.expr import dotted_path

    if not aggs:
        ctx.err(f"window {name!r} needs at least one aggregate", m.loc_of("aggregates"))
        return None
    try:
        spec = WindowSpec(
            name=name,
            duration_s=duration,
            bucket_s=bucket,
            aggregates=frozenset(aggs),
            exclude_recent_s=exclude,
            allowed_lateness_s=lateness,
        )
    except (ValueError, TypeError) as exc:
        ctx.err(f"window {name!r}: {exc}", m.loc)
        return None
    return WindowDef(
        name=name,
        events=events,
        key=tuple(dotted_path(c.tree.body) for c in key_conds),  # type: ignore[misc]
        spec=spec,
        where=where,
        key_conditions=tuple(key_conds),
        value_condition=value,
        distinct_condition=distinct,
        loc=m.loc,
    )


# -- rule files --------------------------------------------------------------

_RULE_KEYS = {
    "id", "title", "description", "events", "when", "severity", "escalate", "basis", "family", "minor", "tags",
    "status", "dedup", "message", "evidence", "examples",
}
_RULE_REQUIRED = {"id", "title", "events", "when", "severity", "basis", "family", "message", "examples"}
_BASIS_KEYS = {"law", "version", "article", "note", "verified"}
_ESCALATE_KEYS = {"when", "to", "by"}
_DEDUP_KEYS = {"window", "subject"}
_EXAMPLES_KEYS = {"fire", "quiet"}
_EXAMPLE_KEYS = {"event", "given", "note"}
_VERSION_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _load_examples(ctx: _Ctx, m: Any, rid: str, events: tuple[str, ...]) -> list[Example]:
    out: list[Example] = []
    if not _keys(ctx, m, "examples", _EXAMPLES_KEYS, {"fire", "quiet"}, rid):
        return out
    for kind in ("fire", "quiet"):
        items = m.get(kind)
        if items is None:
            continue
        if not isinstance(items, LList) or not items:
            ctx.err(f"examples.{kind} must be a non-empty list", m.loc_of(kind), rid)
            continue
        if len(items) > MAX_EXAMPLES_PER_RULE:
            ctx.err(f"more than {MAX_EXAMPLES_PER_RULE} examples", m.loc_of(kind), rid)
        for i, item in enumerate(items):
            loc = items.loc_of(i)
            if not _keys(ctx, item, f"examples.{kind}[{i}]", _EXAMPLE_KEYS, {"event"}, rid):
                continue
            event = item["event"] if "event" in item else None
            if not isinstance(event, LMap):
                ctx.err("example event must be a mapping", item.loc_of("event"), rid)
                continue
            etype = event.get("event_type", events[0] if len(events) == 1 else None)
            if etype is None:
                ctx.err("example event needs event_type (the rule reads several types)", item.loc_of("event"), rid)
                continue
            if etype not in events:
                ctx.err(f"example event_type {etype!r} is not one of the rule's events", item.loc_of("event"), rid)
                continue
            given = _expand_given(ctx, item.get("given", LList()), item.loc_of("given"), rid)
            out.append(
                Example(
                    event=_plain({**event, "event_type": etype}),
                    fire=kind == "fire",
                    given=tuple(given),
                    note=str(item.get("note", "")),
                    loc=Location(file=loc.file, line=loc.line, col=loc.col, rule_id=rid),
                )
            )
    return out


MAX_GIVEN_EVENTS = 5000


def _expand_given(ctx: _Ctx, given: Any, loc: Location, rid: str) -> list[dict[str, Any]]:
    """Events an example needs first; ``{repeat: N, every: 1m, event: {...}}`` makes N copies spaced in time."""
    from datetime import datetime, timedelta

    if not isinstance(given, LList):
        ctx.err("given must be a list of events", loc, rid)
        return []
    out: list[dict[str, Any]] = []
    for i, g in enumerate(given):
        gloc = given.loc_of(i)
        if isinstance(g, LMap) and "repeat" in g:
            if not _keys(ctx, g, "given repeat", {"repeat", "every", "event"}, {"repeat", "every", "event"}, rid):
                continue
            n, event = g["repeat"], g["event"]
            if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_GIVEN_EVENTS:
                ctx.err(f"repeat must be 1 to {MAX_GIVEN_EVENTS}", g.loc_of("repeat"), rid)
                continue
            try:
                step = parse_duration(g["every"], g.loc_of("every"), "every")
            except PackError as exc:
                ctx.errors.append(exc)
                continue
            if not isinstance(event, LMap) or "event_type" not in event or "occurred_at" not in event:
                ctx.err("a repeated event needs event_type and occurred_at", g.loc_of("event"), rid)
                continue
            try:
                t0 = datetime.fromisoformat(str(event["occurred_at"]))
            except ValueError:
                ctx.err("occurred_at must be an RFC 3339 time", event.loc_of("occurred_at"), rid)
                continue
            base = _plain(event)
            try:
                for k in range(n):
                    out.append({**base, "occurred_at": (t0 + timedelta(seconds=step * k)).isoformat()})
            except OverflowError:
                ctx.err("repeat runs past the year 9999", g.loc_of("repeat"), rid)
                continue
        elif isinstance(g, LMap) and "event_type" in g:
            out.append(_plain(g))
        else:
            ctx.err("each given item is an event with event_type, or {repeat, every, event}", gloc, rid)
        if len(out) > MAX_GIVEN_EVENTS:
            ctx.err(f"more than {MAX_GIVEN_EVENTS} given events", loc, rid)
            return []
    return out


def _plain(value: Any) -> Any:
    """Strip location wrappers so example events are ordinary dicts/lists/strs."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def _load_rule(ctx: _Ctx, m: Any, defaults: dict[str, int], seen_ids: dict[str, Location]) -> Rule | None:
    raw_id = m.get("id") if isinstance(m, LMap) else None
    rid = str(raw_id) if isinstance(raw_id, str) else None
    if not _keys(ctx, m, f"rule {rid or '?'}", _RULE_KEYS, _RULE_REQUIRED, rid):
        return None
    if rid is None:
        ctx.err(f"rule id must be text such as AD-01, got {_kind(raw_id)}", m.loc_of("id"))
        return None
    if not _RULE_ID.match(rid):
        ctx.err(f"rule id {rid!r}: use upper-case words joined by '-', e.g. AD-01", m.loc_of("id"), rid)
    if rid in seen_ids:
        ctx.err(f"duplicate rule id (first defined at {seen_ids[rid]})", m.loc_of("id"), rid)
    seen_ids[rid] = m.loc_of("id")
    events = _event_types(ctx, m, "events", "rule", rid)
    cond = _condition(ctx, m.get("when"), m.loc_of("when"), rid, "when") if "when" in m else None
    severity = _str(ctx, m, "severity", "rule", rid, "medium") or "medium"
    if severity not in SEVERITIES:
        ctx.err(f"severity {severity!r}: one of {', '.join(SEVERITIES)}", m.loc_of("severity"), rid)
        severity = "medium"
    status = _str(ctx, m, "status", "rule", rid, "active") or "active"
    if status not in STATUSES:
        ctx.err(f"status {status!r}: one of {', '.join(STATUSES)}", m.loc_of("status"), rid)
    minor = m.get("minor", False)
    if not isinstance(minor, bool):
        ctx.err("minor must be true or false", m.loc_of("minor"), rid)
        minor = False
    family = _str(ctx, m, "family", "rule", rid, "") or ""
    if "family" in m and not _NAME.match(family):
        ctx.err(f"family {family!r}: use lower_snake_case", m.loc_of("family"), rid)

    basis: list[LegalBasis] = []
    braw = m.get("basis")
    if braw is not None:
        items = braw if isinstance(braw, LList) else [braw]
        if not items:
            ctx.err("basis must name at least one law and article", m.loc_of("basis"), rid)
        for b in items:
            if not _keys(ctx, b, "basis", _BASIS_KEYS, {"law", "version", "article"}, rid):
                continue
            version = b.get("version")
            version = str(version) if version is not None else ""
            if not _VERSION_DATE.match(version):
                ctx.err(f"basis.version {version!r}: the law version date as YYYY-MM-DD", b.loc_of("version"), rid)
            verified = b.get("verified", True)
            if not isinstance(verified, bool):
                ctx.err("basis.verified must be true or false", b.loc_of("verified"), rid)
                verified = False
            basis.append(
                LegalBasis(
                    law=_str(ctx, b, "law", "basis", rid, "") or "",
                    version=version,
                    article=str(b.get("article", "")),
                    note=_str(ctx, b, "note", "basis", rid, "") or "",
                    verified=bool(verified),
                )
            )

    escalations: list[Escalation] = []
    eraw = m.get("escalate") if "escalate" in m else LList()
    if not isinstance(eraw, LList):
        ctx.err("escalate must be a list of {when, to|by}", m.loc_of("escalate"), rid)
        eraw = LList()
    for e in eraw:
        if not _keys(ctx, e, "escalate", _ESCALATE_KEYS, {"when"}, rid):
            continue
        econd = _condition(ctx, e["when"], e.loc_of("when"), rid, "escalate.when") if "when" in e else None
        to = str(e["to"]) if isinstance(e.get("to"), str) else e.get("to")
        by = e.get("by", 1)
        if to is not None and to not in SEVERITIES:
            ctx.err(f"escalate.to {to!r}: one of {', '.join(SEVERITIES)}", e.loc_of("to"), rid)
            to = None
        if not isinstance(by, int) or isinstance(by, bool) or not 1 <= by <= 4:
            ctx.err("escalate.by must be 1 to 4 levels", e.loc_of("by"), rid)
            by = 1
        if econd is not None:
            escalations.append(Escalation(econd, to, by))

    dedup_s = defaults.get("dedup", 86_400)
    subject = None
    draw = m.get("dedup")
    if draw is not None:
        if isinstance(draw, (str, int)) and not isinstance(draw, bool):
            try:
                dedup_s = parse_duration(draw, m.loc_of("dedup"), "dedup")
            except PackError as exc:
                exc.location = Location(file=exc.location.file, line=exc.location.line, col=exc.location.col, rule_id=rid)
                ctx.errors.append(exc)
        elif _keys(ctx, draw, "dedup", _DEDUP_KEYS, {"window"}, rid):
            try:
                dedup_s = parse_duration(draw["window"], draw.loc_of("window"), "dedup.window") if "window" in draw else dedup_s
            except PackError as exc:
                ctx.errors.append(exc)
            if "subject" in draw:
                subject = _condition(ctx, draw["subject"], draw.loc_of("subject"), rid, "dedup.subject")

    evidence: list[Condition] = []
    evraw = m.get("evidence") if "evidence" in m else LList()
    if not isinstance(evraw, LList):
        ctx.err("evidence must be a list of field paths", m.loc_of("evidence"), rid)
        evraw = LList()
    for i, item in enumerate(evraw):
        c = _path_condition(ctx, item, evraw.loc_of(i), rid, "evidence item")
        if c is not None:
            evidence.append(c)

    examples = _load_examples(ctx, m["examples"], rid, events) if "examples" in m and events else []
    message = m.get("message", "")
    if not isinstance(message, str) or not message.strip():
        ctx.err("message must be non-empty text", m.loc_of("message"), rid)
        message = ""
    if cond is None:
        return None
    return Rule(
        id=rid,
        title=_str(ctx, m, "title", "rule", rid, "") or "",
        description=_str(ctx, m, "description", "rule", rid, "") or "",
        events=events,
        condition=cond,
        severity=severity,
        family=family,
        basis=tuple(basis),
        message=str(message),
        message_loc=message.content_loc if isinstance(message, LStr) else m.loc_of("message"),
        status=status,
        minor=minor,
        tags=tuple(_str_list(ctx, m, "tags", "rule", rid)),
        escalations=tuple(escalations),
        dedup_s=dedup_s,
        subject=subject,
        evidence=tuple(evidence),
        examples=tuple(examples),
        loc=Location(file=m.loc.file, line=m.loc.line, col=m.loc.col, rule_id=rid),
    )


def _load_sections(
    ctx: _Ctx, doc: LMap, lists: dict[str, KeywordList], windows: dict[str, WindowDef], defaults: dict[str, int]
) -> None:
    """Read the ``lists`` and ``windows`` of pack.yaml or of a rule file into the pack-wide maps.

    A family's rule file may carry the lists and windows only it uses; names
    are pack-wide, so a name declared twice is an error naming both places.
    """
    for section, target in (("lists", lists), ("windows", windows)):
        if section not in doc:
            continue
        block = doc[section]
        if not isinstance(block, LMap):
            ctx.err(f"{section} must be a mapping of name -> definition", doc.loc_of(section))
            continue
        for key, value in block.items():
            if key in target:
                ctx.err(f"{section[:-1]} {key!r} is already declared at {target[key].loc}", block.key_locs[key])
                continue
            if section == "lists":
                obj: Any = _load_list(ctx, key, value, block.loc_of(key))
            else:
                obj = _load_window(ctx, key, value, defaults)
            if obj is not None:
                target[key] = obj


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load_pack(folder: str | Path, collect: list[PackError] | None = None) -> Pack:
    """Load a pack folder; raise PackErrors listing every problem found.

    With ``collect``, errors are appended there instead and the pack of what
    did load is returned, so lint can go on to compile it and report more.
    """
    root = Path(folder)
    ctx = _Ctx([])
    pack_file = root / "pack.yaml"
    if not pack_file.is_file():
        raise PackErrors([PackError("no pack.yaml in this folder", Location(file=_display(pack_file, root)))])
    digest = hashlib.sha256()
    rule_files = sorted(p for p in root.glob("*.yaml") if p.name != "pack.yaml")
    case_files = sorted((root / "tests").glob("*.yaml")) if (root / "tests").is_dir() else []
    for p in [pack_file, *rule_files]:
        digest.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")

    def read(p: Path) -> Any:
        ctx.file = _display(p, root)
        try:
            return load_yaml_file(p, _display(p, root))
        except PackError as exc:
            ctx.errors.append(exc)
            return None

    head = read(pack_file)
    if head is None and ctx.errors:
        raise PackErrors(ctx.errors)
    name = version = description = ""
    lists: dict[str, KeywordList] = {}
    windows: dict[str, WindowDef] = {}
    defaults: dict[str, int] = {}
    if _keys(ctx, head, "pack.yaml", _PACK_KEYS, {"pack", "version"}):
        name = _str(ctx, head, "pack", "pack") or ""
        version = str(head.get("version", ""))
        description = _str(ctx, head, "description", "pack") or ""
        draw = head["defaults"] if "defaults" in head else None
        if draw is not None and _keys(ctx, draw, "defaults", _DEFAULT_KEYS, set()):
            for key in ("dedup", "allowed_lateness"):
                if key in draw:
                    try:
                        defaults[key] = parse_duration(draw[key], draw.loc_of(key), key)
                    except PackError as exc:
                        ctx.errors.append(exc)
        _load_sections(ctx, head, lists, windows, defaults)

    rules: list[Rule] = []
    seen: dict[str, Location] = {}
    for p in rule_files:
        doc = read(p)
        if doc is None:
            continue
        if not _keys(ctx, doc, p.name, {"rules", "lists", "windows"}, {"rules"}):
            continue
        _load_sections(ctx, doc, lists, windows, defaults)
        items = doc["rules"]
        if not isinstance(items, LList):
            ctx.err("rules must be a list", doc.loc_of("rules"))
            continue
        for item in items:
            rule = _load_rule(ctx, item, defaults, seen)
            if rule is not None:
                rules.append(rule)
    if len(rules) > MAX_RULES:
        ctx.err(f"more than {MAX_RULES} rules in one pack", Location(file=_display(pack_file, root)))
    if ctx.errors and collect is None:
        raise PackErrors(ctx.errors)
    if collect is not None:
        collect.extend(ctx.errors)
    return Pack(
        name=name,
        version=version,
        description=description,
        lists=lists,
        windows=windows,
        rules=tuple(rules),
        root=str(root),
        digest=digest.hexdigest(),
        case_files=tuple(str(p) for p in case_files),
    )


def load_case_file(path: str, events: Callable[[str], tuple[str, ...]]) -> tuple[list[tuple[str, Example]], list[PackError]]:
    """Read a case file: a list of {rule, fire|quiet: [examples...]} mappings."""
    ctx = _Ctx([], file=path)
    out: list[tuple[str, Example]] = []
    try:
        doc = load_yaml_file(Path(path))
    except PackError as exc:
        return [], [exc]
    if not _keys(ctx, doc, Path(path).name, {"cases"}, {"cases"}):
        return [], ctx.errors
    cases = doc["cases"]
    if not isinstance(cases, LList):
        ctx.err("cases must be a list", doc.loc_of("cases"))
        return [], ctx.errors
    for case in cases:
        if not _keys(ctx, case, "case", {"rule", "fire", "quiet"}, {"rule"}):
            continue
        if not isinstance(case["rule"], str):
            ctx.err("case rule must be a rule id", case.loc_of("rule"))
            continue
        rid = str(case["rule"])
        types = events(rid)
        if not types:
            ctx.err(f"unknown rule {rid!r}", case.loc_of("rule"))
            continue
        block = LMap({k: case[k] for k in ("fire", "quiet") if k in case})
        block.loc, block.locs, block.key_locs = case.loc, case.locs, case.key_locs
        sub = _Ctx([], file=path)
        if "fire" not in block:
            block["fire"] = None
        if "quiet" not in block:
            block["quiet"] = None
        for ex in _load_examples(sub, block, rid, types):
            out.append((rid, ex))
        ctx.errors.extend(sub.errors)
    return out, ctx.errors
