"""The published JSON Schema: well-formed, documented, and in agreement with the decoder."""
from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any

import msgspec
import pytest

from engine.events import schema
from engine.events.examples import EXAMPLES, deep_merge, default_event
from engine.events.jsonschema import FIELD_NOTES, SCHEMA_ID, json_schema

STRUCTS = [
    schema.Envelope, schema.Merchant, schema.EvidenceRef, schema.Licence, schema.Promotion,
    schema.DwellHistogram, schema.TrafficSources, *schema.EVENT_CLASSES.values(),
]  # fmt: skip
_ENVELOPE = {f.name for f in msgspec.structs.fields(schema.Envelope)}


def own_fields(cls: type) -> set[str]:
    names = {f.name for f in msgspec.structs.fields(cls)}
    if issubclass(cls, schema.Envelope) and cls is not schema.Envelope:
        return names - _ENVELOPE
    return names | ({"event_type"} if cls is schema.Envelope else set())


# -- a small validator for the keywords msgspec emits (no jsonschema package here) --

_TYPES = {
    "object": dict, "array": list, "string": str, "boolean": bool, "null": type(None),
    "integer": int, "number": (int, float),
}  # fmt: skip


def _is_type(value: Any, name: str) -> bool:
    if name in ("integer", "number") and isinstance(value, bool):
        return False
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES[name])


def errors(value: Any, node: dict[str, Any], root: dict[str, Any], path: str = "$") -> list[str]:
    """Every violation of ``node`` by ``value`` (empty list = valid)."""
    out: list[str] = []
    if "$ref" in node:
        out += errors(value, root["$defs"][node["$ref"].rsplit("/", 1)[1]], root, path)
    if "anyOf" in node and all(errors(value, sub, root, path) for sub in node["anyOf"]):
        out.append(f"{path}: matches no anyOf branch")
    if "enum" in node and value not in node["enum"]:
        out.append(f"{path}: not in enum")
    if "type" in node and not _is_type(value, node["type"]):
        return out + [f"{path}: not {node['type']}"]
    if isinstance(value, str):
        if len(value) < node.get("minLength", 0) or len(value) > node.get("maxLength", 1 << 60):
            out.append(f"{path}: length")
        if "pattern" in node and not re.search(node["pattern"], value):
            out.append(f"{path}: pattern")
        fmt = node.get("format")
        try:
            if fmt == "date-time" and datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is None:
                out.append(f"{path}: no offset")
            if fmt == "date":
                date.fromisoformat(value)
        except ValueError:
            out.append(f"{path}: format {fmt}")
    if _is_type(value, "number"):
        if "minimum" in node and value < node["minimum"] or "maximum" in node and value > node["maximum"]:
            out.append(f"{path}: range")
        if "exclusiveMinimum" in node and value <= node["exclusiveMinimum"]:
            out.append(f"{path}: range")
        if "exclusiveMaximum" in node and value >= node["exclusiveMaximum"]:
            out.append(f"{path}: range")
    if isinstance(value, dict):
        out += [f"{path}.{k}: missing" for k in node.get("required", []) if k not in value]
        for k, sub in node.get("properties", {}).items():
            if k in value:
                out += errors(value[k], sub, root, f"{path}.{k}")
    if isinstance(value, list) and "items" in node:
        for i, item in enumerate(value):
            out += errors(item, node["items"], root, f"{path}[{i}]")
    return out


@pytest.fixture(scope="module")
def js() -> dict[str, Any]:
    return json_schema()


def test_header(js: dict[str, Any]) -> None:
    assert js["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert js["$id"] == SCHEMA_ID == "https://hongdun.dev/schema/events/v1.json"
    assert js["title"] and "merchant_id" in js["description"]
    json.dumps(js)  # plain JSON


def test_fresh_copy_each_call(js: dict[str, Any]) -> None:
    js["$defs"]["Listing"]["title"] = "mutated"
    assert json_schema()["$defs"]["Listing"]["title"] == "Listing"


def test_one_branch_per_event_type(js: dict[str, Any]) -> None:
    assert list(js["discriminator"]["mapping"]) == list(schema.EVENT_TYPES)
    for event_type, ref in js["discriminator"]["mapping"].items():
        definition = js["$defs"][ref.rsplit("/", 1)[1]]
        assert definition["properties"]["event_type"]["enum"] == [event_type]
    assert len(js["anyOf"]) == len(schema.EVENT_TYPES)


def test_all_refs_resolve(js: dict[str, Any]) -> None:
    refs = re.findall(r'"\$ref": "#/\$defs/(\w+)"', json.dumps(js))
    assert refs and set(refs) <= set(js["$defs"])


def test_required_fields_match_msgspec(js: dict[str, Any]) -> None:
    for name, definition in js["$defs"].items():
        cls = getattr(schema, name)
        required = {f.name for f in msgspec.structs.fields(cls) if f.required}
        if "event_type" in definition["properties"]:
            required.add("event_type")
        assert set(definition.get("required", [])) == required, name


def test_every_property_is_described(js: dict[str, Any]) -> None:
    for name, definition in js["$defs"].items():
        assert definition.get("description"), name
        for field, prop in definition["properties"].items():
            assert prop.get("description"), f"{name}.{field}"


@pytest.mark.parametrize("cls", STRUCTS, ids=lambda c: c.__name__)
def test_field_notes_cover_exactly_the_fields(cls: type) -> None:
    assert set(FIELD_NOTES[cls.__name__]) == own_fields(cls)


def test_no_notes_for_unknown_structs() -> None:
    assert set(FIELD_NOTES) == {c.__name__ for c in STRUCTS}


def test_uscc_pattern_is_published(js: dict[str, Any]) -> None:
    uscc = js["$defs"]["Merchant"]["properties"]["uscc"]["anyOf"][0]
    assert uscc["pattern"].startswith("^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}") and uscc["maxLength"] == 18


@pytest.mark.parametrize("event_type", schema.EVENT_TYPES)
def test_examples_validate(js: dict[str, Any], event_type: str) -> None:
    assert errors(EXAMPLES[event_type], js, js) == []


@pytest.mark.parametrize(
    "patch, why",
    [
        ({"event_type": "refund"}, "unknown type"),
        ({"schema_ver": "2.0"}, "other major version"),
        ({"display_price": -1}, "negative money"),
        ({"display_price": "368"}, "money as a string"),
        ({"occurred_at": "2025-06-12 09:30"}, "not RFC 3339"),
        ({"merchant": {"reg_region_code": "33010"}}, "short region code"),
        ({"merchant": {"uscc": "91330106ma2h3k7px5"}}, "lower-case USCC"),
        ({"category_std": "玩具"}, "category outside the list"),
        ({"promo": {"claimed_discount": 0}}, "zero discount"),
    ],
)
def test_broken_events_fail_the_schema_too(js: dict[str, Any], patch: dict[str, Any], why: str) -> None:
    assert errors(deep_merge(default_event("listing"), patch), js, js), why


def test_missing_required_field_fails(js: dict[str, Any]) -> None:
    event = default_event("order")
    del event["merchant"]["merchant_id"]
    assert errors(event, js, js)
    assert errors(event, js["$defs"]["Order"], js) == ["$.merchant.merchant_id: missing"]
