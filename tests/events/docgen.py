"""Regenerate the generated parts of docs/events.md from the code.

Field tables come from the msgspec types in engine/events/schema.py plus the
notes in engine/events/jsonschema.py; examples from engine/events/examples.py;
reject reasons from engine/events/deadletter.py. Prose stays hand-written
between the ``<!-- BEGIN GENERATED: name -->`` / ``<!-- END GENERATED: name -->``
markers, and ``test_docs.py`` fails when the file is out of date.

Run from the repo root::

    .venv/bin/python tests/events/docgen.py          # rewrite docs/events.md
    .venv/bin/python tests/events/docgen.py --check  # exit 1 if out of date
"""
from __future__ import annotations

import json
import re
import sys
import typing
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script
    sys.path.insert(0, str(ROOT))

import msgspec  # noqa: E402
import msgspec.inspect as mi  # noqa: E402

from engine.errors import Location  # noqa: E402
from engine.events import schema  # noqa: E402
from engine.events.deadletter import PATH_REASONS, REASONS, Reject  # noqa: E402
from engine.events.decode import EventDecoder  # noqa: E402
from engine.events.examples import EXAMPLES, deep_merge  # noqa: E402
from engine.events.jsonschema import FIELD_NOTES  # noqa: E402

DOC = ROOT / "docs" / "events.md"
_BLOCK = re.compile(
    r"(<!-- BEGIN GENERATED: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- END GENERATED: (?P=name) -->)", re.S
)
_ENVELOPE_FIELDS = {f.name for f in msgspec.structs.fields(schema.Envelope)}

# Nested structs documented under the event type that uses them.
_NESTED = {
    "listing": (schema.Licence, schema.Promotion),
    "live_metrics": (schema.DwellHistogram, schema.TrafficSources),
}


def _esc(text: str) -> str:
    return text.replace("|", "\\|")


def _code(value: str) -> str:
    return f"`{_esc(value)}`"


def _num(value: float) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    if isinstance(value, int) and value >= 10**6 and text.rstrip("0") == "1":
        return f"10^{len(text) - 1}"
    return text


def _range(lo: Any, hi: Any, lo_strict: bool, hi_strict: bool) -> str:
    if lo is not None and hi is not None and not (lo_strict or hi_strict):
        return f"{_num(lo)}–{_num(hi)}"
    parts = []
    if lo is not None:
        parts.append(f"{'>' if lo_strict else '≥'} {_num(lo)}")
    if hi is not None:
        parts.append(f"{'<' if hi_strict else '≤'} {_num(hi)}")
    return ", ".join(parts)


def type_text(t: mi.Type) -> str:
    """A short human description of a msgspec type, for the field tables."""
    pattern = None
    if isinstance(t, mi.Metadata):
        pattern = (t.extra_json_schema or {}).get("pattern")
        t = t.type
    if isinstance(t, mi.UnionType):
        others = [x for x in t.types if not isinstance(x, mi.NoneType)]
        text = " or ".join(type_text(x) for x in others)
        return f"{text} or null" if len(others) < len(t.types) else text
    if isinstance(t, mi.StrType):
        bits = []
        pattern = t.pattern or pattern
        if pattern:
            bits.append(f"pattern {_code(pattern)}")
        elif t.min_length is not None and t.min_length == t.max_length:
            bits.append(f"{t.min_length} chars")
        elif t.min_length and t.max_length:
            bits.append(f"{t.min_length}–{t.max_length} chars")
        elif t.max_length:
            bits.append(f"≤ {t.max_length} chars")
        elif t.min_length:
            bits.append(f"≥ {t.min_length} chars")
        return "string" + (f" ({'; '.join(bits)})" if bits else "")
    if isinstance(t, (mi.IntType, mi.FloatType)):
        name = "integer" if isinstance(t, mi.IntType) else "number"
        lo, lo_strict = (t.gt, True) if t.gt is not None else (t.ge, False)
        hi, hi_strict = (t.lt, True) if t.lt is not None else (t.le, False)
        bounds = _range(lo, hi, lo_strict, hi_strict)
        return f"{name} ({bounds})" if bounds else name
    if isinstance(t, mi.BoolType):
        return "boolean"
    if isinstance(t, mi.DateTimeType):
        return "date-time with offset" if t.tz else "date-time"
    if isinstance(t, mi.DateType):
        return "date `YYYY-MM-DD`"
    if isinstance(t, mi.LiteralType):
        return "one of " + ", ".join(_code(str(v)) for v in t.values)
    if isinstance(t, mi.ListType):
        return f"array of {type_text(t.item_type)}"
    if isinstance(t, mi.StructType):
        name = t.cls.__name__
        return f"object [{name}](#{name.lower()})"
    raise TypeError(f"no doc rendering for {t!r}")  # a new kind of type in schema.py: teach type_text


def _default_text(field: mi.Field) -> str:
    if field.required:
        return ""
    default = field.default_factory() if field.default_factory is not mi.NODEFAULT else field.default
    if isinstance(default, msgspec.Struct):
        return "all defaults"
    return _code(json.dumps(msgspec.to_builtins(default), ensure_ascii=False))


def field_table(cls: type, skip: set[str] = frozenset()) -> str:  # type: ignore[assignment]
    """Markdown table of the fields of ``cls`` (minus ``skip``)."""
    info = mi.type_info(cls)
    notes = FIELD_NOTES[cls.__name__]
    rows = ["| field | type | required | default | meaning |", "|---|---|---|---|---|"]
    if cls is schema.Envelope:
        types = ", ".join(_code(t) for t in schema.EVENT_TYPES)
        rows.append(f"| `event_type` | one of {types} | **yes** |  | {_esc(notes['event_type'])} |")
    hints = typing.get_type_hints(cls)
    for f in info.fields:
        if f.name in skip:
            continue
        required = "**yes**" if f.required else "no"
        if typing.get_origin(hints[f.name]) is typing.Literal:  # msgspec sorts values; keep declaration order
            kind = "one of " + ", ".join(_code(str(v)) for v in typing.get_args(hints[f.name]))
        else:
            kind = type_text(f.type)
        rows.append(f"| `{f.name}` | {kind} | {required} | {_default_text(f)} | {_esc(notes[f.name])} |")
    return "\n".join(rows)


def _json_block(obj: Any) -> str:
    return "```json\n" + json.dumps(obj, ensure_ascii=False, indent=2) + "\n```"


def _doc_of(cls: type) -> str:
    return " ".join((cls.__doc__ or "").split())


def section_type_index() -> str:
    rows = ["| `event_type` | what it reports | free-text fields (joined as `text` in rules) |", "|---|---|---|"]
    for event_type, cls in schema.EVENT_CLASSES.items():
        text_fields = ", ".join(_code(f) for f in schema.TEXT_FIELDS[event_type]) or "—"
        anchor = f"#{event_type}-{cls.__name__.lower()}"  # GitHub's slug of the section heading
        rows.append(f"| [`{event_type}`]({anchor}) | {_esc(_doc_of(cls))} | {text_fields} |")
    return "\n".join(rows)


def section_envelope() -> str:
    parts = [field_table(schema.Envelope)]
    for cls in (schema.Merchant, schema.EvidenceRef):
        parts += [f"### {cls.__name__}", _doc_of(cls), field_table(cls)]
    return "\n\n".join(parts)


def section_types() -> str:
    parts = []
    for event_type, cls in schema.EVENT_CLASSES.items():
        parts += [
            f"### `{event_type}` ({cls.__name__})",
            _doc_of(cls),
            "Envelope fields, plus:",
            field_table(cls, skip=_ENVELOPE_FIELDS),
        ]
        for nested in _NESTED.get(event_type, ()):
            parts += [f"#### {nested.__name__}", _doc_of(nested), field_table(nested)]
        parts += [f"Example `{event_type}`:", _json_block(EXAMPLES[event_type])]
    return "\n\n".join(parts)


def section_reasons() -> str:
    rows = ["| reason | `path` set | meaning |", "|---|---|---|"]
    for code, meaning in REASONS.items():
        rows.append(f"| `{code}` | {'yes' if code in PATH_REASONS else 'no'} | {_esc(meaning)} |")
    return "\n".join(rows)


def section_reject_example() -> str:
    bad = deep_merge(EXAMPLES["order"], {"merchant": {"uscc": "91440305MA5G7T3N8M"}})
    raw = json.dumps(bad, ensure_ascii=False, separators=(",", ":")).encode()
    reject = EventDecoder().decode(raw, Location(topic="demo-mall.events", partition=3, offset=1048576))
    assert isinstance(reject, Reject), reject
    record = msgspec.json.decode(reject.to_json())
    record["raw"] = record["raw"][:60] + "…"  # shortened for the page
    return _json_block(record)


SECTIONS = {
    "type-index": section_type_index,
    "envelope": section_envelope,
    "types": section_types,
    "reasons": section_reasons,
    "reject-example": section_reject_example,
}


def render(text: str) -> str:
    """``text`` with every generated block refreshed."""

    def fill(m: re.Match[str]) -> str:
        return m[1] + SECTIONS[m["name"]]().rstrip("\n") + "\n" + m[4]

    return _BLOCK.sub(fill, text)


def main(argv: list[str]) -> int:
    current = DOC.read_text(encoding="utf-8")
    fresh = render(current)
    if "--check" in argv:
        if fresh != current:
            print(f"{DOC} is out of date; run: .venv/bin/python tests/events/docgen.py", file=sys.stderr)
            return 1
        return 0
    if fresh != current:
        DOC.write_text(fresh, encoding="utf-8")
        print(f"updated {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
