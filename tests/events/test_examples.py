"""Examples: each decodes, helpers behave, and the examples in docs/events.md decode too."""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest

from engine.events.deadletter import Reject
from engine.events.decode import EventDecoder
from engine.events.examples import EXAMPLES, deep_merge, default_event
from engine.events.schema import EVENT_CLASSES, EVENT_TYPES
from engine.events.uscc import is_valid_uscc

from .helpers import LOC, encode

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"
_JSON_BLOCK = re.compile(r"^```json\n(.*?)^```", re.S | re.M)


def test_one_example_per_type() -> None:
    assert list(EXAMPLES) == list(EVENT_TYPES)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_example_decodes_and_looks_real(event_type: str) -> None:
    example = EXAMPLES[event_type]
    event = EventDecoder().decode(encode(example), LOC)
    assert type(event) is EVENT_CLASSES[event_type], event
    assert example["event_type"] == event_type
    assert is_valid_uscc(example["merchant"]["uscc"])
    assert event.occurred_at.utcoffset() == timedelta(hours=8)
    assert re.search(r"[\u4e00-\u9fff]", encode(example).decode())  # Chinese text somewhere


def test_default_event_is_a_deep_copy() -> None:
    event = default_event("listing")
    event["merchant"]["name"] = "changed"
    event["licences"].append({"type": "x", "no": "y"})
    assert EXAMPLES["listing"]["merchant"]["name"] != "changed"
    assert len(EXAMPLES["listing"]["licences"]) == 1
    assert default_event("listing") == EXAMPLES["listing"]


def test_examples_do_not_share_nested_objects() -> None:
    assert EXAMPLES["live_metrics"]["merchant"] is not EXAMPLES["complaint"]["merchant"]


def test_default_event_unknown_type() -> None:
    with pytest.raises(ValueError, match="unknown event_type 'refund'"):
        default_event("refund")


def test_deep_merge() -> None:
    base = {"a": 1, "m": {"x": 1, "y": {"z": 1}}, "l": [1, 2], "keep": {"k": 1}}
    patch = {"a": 2, "m": {"y": {"w": 2}}, "l": [3], "new": {"n": [1]}, "keep": None}
    merged = deep_merge(base, patch)
    assert merged == {"a": 2, "m": {"x": 1, "y": {"z": 1, "w": 2}}, "l": [3], "keep": None, "new": {"n": [1]}}
    assert base == {"a": 1, "m": {"x": 1, "y": {"z": 1}}, "l": [1, 2], "keep": {"k": 1}}  # untouched
    merged["new"]["n"].append(2)
    assert patch["new"]["n"] == [1]  # no aliasing into the patch
    merged["m"]["x"] = 9
    assert base["m"]["x"] == 1  # nor into the base


def test_dict_replaces_scalar_and_scalar_replaces_dict() -> None:
    assert deep_merge({"a": 1}, {"a": {"b": 2}}) == {"a": {"b": 2}}
    assert deep_merge({"a": {"b": 2}}, {"a": 1}) == {"a": 1}


def test_partial_event_on_default_decodes() -> None:
    event = deep_merge(default_event("listing"), {"display_price": 9.9, "merchant": {"op_region_code": "440305"}})
    decoded = EventDecoder().decode(encode(event), LOC)
    assert decoded.display_price == 9.9 and decoded.merchant.op_region_code == "440305"
    assert decoded.merchant.reg_region_code == "330106"


def doc_json_blocks() -> list[str]:
    return _JSON_BLOCK.findall(DOC.read_text(encoding="utf-8"))


def test_doc_has_one_example_per_type() -> None:
    docs = [msgspec.json.decode(b) for b in doc_json_blocks()]
    assert sorted(d["event_type"] for d in docs if "reason" not in d) == sorted(EVENT_TYPES)


@pytest.mark.parametrize("block", doc_json_blocks(), ids=lambda b: b.split("\n", 2)[1].strip()[:40])
def test_doc_json_blocks_are_valid(block: str) -> None:
    """Every ```json block in the doc is a decodable event or a dead-letter record."""
    doc = msgspec.json.decode(block)
    if "reason" in doc:
        reject = msgspec.json.decode(block, type=Reject)
        assert reject.reason and reject.message
    else:
        event = EventDecoder().decode(block.encode(), LOC)
        assert not isinstance(event, Reject), event
