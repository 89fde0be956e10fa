"""Property tests: whatever the bytes, decode returns an Event or a well-formed Reject."""
from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine.events import deadletter as dl
from engine.events.deadletter import Reject
from engine.events.decode import EventDecoder
from engine.events.examples import EXAMPLES, default_event
from engine.events.schema import EVENT_CLASSES, EVENT_TYPES

from .helpers import KAFKA, encode

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DECODER = EventDecoder()  # shared on purpose: the USCC cache must not change outcomes
EVENT_TYPES_SET = tuple(EVENT_CLASSES.values())

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["", "1.0", "2.0", "listing", "330106", "2025-06-12T09:30:00+08:00", "91330106MA2H3K7PX5"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def check(raw: bytes) -> Any:
    """Decode and assert the contract; return the result for further checks."""
    result = DECODER.decode(raw, KAFKA)
    assert isinstance(result, (Reject, *EVENT_TYPES_SET)), type(result)
    if isinstance(result, Reject):
        assert result.reason in dl.REASONS and result.message
        if result.reason in dl.PATH_REASONS:  # includes missing_field, bad_field, bad_uscc
            assert result.path and result.path.startswith("$")
        assert result.source == {"topic": "demo-mall.events", "partition": 2, "offset": 40917}
        assert result.raw_bytes() == raw
        assert msgspec.json.decode(result.to_json(), type=Reject) == result
    return result


def paths(node: Any, prefix: str = "$") -> list[tuple[str, tuple[Any, ...]]]:
    """Every (json-path, key-path) in a JSON document, msgspec's path syntax."""
    out = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        path = f"{prefix}.{key}" if isinstance(key, str) else f"{prefix}[{key}]"
        out.append((path, (key,)))
        out += [(p, (key, *keys)) for p, keys in paths(child, path)]
    return out


def parent_of(doc: Any, keys: tuple[Any, ...]) -> Any:
    for key in keys[:-1]:
        doc = doc[key]
    return doc


def _required(event_type: str, json_path: str) -> bool:
    """Whether the field at ``json_path`` is required (in its struct) per the schema."""
    if json_path == "$.event_type":
        return True
    mi = msgspec.inspect
    info: Any = mi.type_info(EVENT_CLASSES[event_type])
    required = True
    for part in json_path[2:].replace("[", ".[").split("."):
        while isinstance(info, (mi.Metadata, mi.UnionType)):  # unwrap Annotated and `X | None`
            info = info.type if isinstance(info, mi.Metadata) else next(
                t for t in info.types if not isinstance(t, mi.NoneType)
            )
        if part.startswith("["):
            info = info.item_type
        else:
            field = next(f for f in info.fields if f.name == part)
            required, info = field.required, field.type
    return required


@SETTINGS
@given(st.binary(max_size=600))
def test_random_bytes(raw: bytes) -> None:
    check(raw)


@SETTINGS
@given(st.sampled_from(EVENT_TYPES), st.data())
def test_deleting_a_key_is_missing_field_at_that_path(event_type: str, data: st.DataObject) -> None:
    doc = default_event(event_type)
    json_path, keys = data.draw(st.sampled_from([p for p in paths(doc) if isinstance(p[1][-1], str)]))
    del parent_of(doc, keys)[keys[-1]]
    result = check(encode(doc))
    if _required(event_type, json_path):
        assert isinstance(result, Reject)
        assert (result.reason, result.path) == (dl.MISSING_FIELD, json_path)
    else:
        assert isinstance(result, EVENT_CLASSES[event_type]), result


@SETTINGS
@given(st.sampled_from(EVENT_TYPES), st.data(), json_values)
def test_replacing_a_value_is_reported_at_or_under_that_path(event_type: str, data: st.DataObject, value: Any) -> None:
    doc = default_event(event_type)
    json_path, keys = data.draw(st.sampled_from(paths(doc)))
    assume(not (json_path == "$.event_type" and value in EVENT_TYPES))  # a different valid type
    parent_of(doc, keys)[keys[-1]] = value
    result = check(encode(doc))
    if isinstance(result, Reject):
        assert result.reason in dl.PATH_REASONS - {dl.UNSUPPORTED_SCHEMA_VERSION} or (
            result.reason == dl.UNSUPPORTED_SCHEMA_VERSION and json_path == "$.schema_ver"
        )
        assert result.path == json_path or result.path.startswith((json_path + ".", json_path + "["))
        assert result.event_type == (value if json_path == "$.event_type" else event_type) or result.event_type is None


@SETTINGS
@given(st.sampled_from(EVENT_TYPES), st.data())
def test_truncation_is_bad_json_or_not_utf8(event_type: str, data: st.DataObject) -> None:
    raw = encode(EXAMPLES[event_type])
    cut = data.draw(st.integers(0, len(raw) - 1))
    result = check(raw[:cut])
    assert isinstance(result, Reject) and result.reason in (dl.BAD_JSON, dl.NOT_UTF8)


@SETTINGS
@given(st.sampled_from(EVENT_TYPES), st.data())
def test_byte_flips_never_raise(event_type: str, data: st.DataObject) -> None:
    raw = bytearray(encode(EXAMPLES[event_type]))
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    check(bytes(raw))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(EVENT_TYPES).map(lambda t: encode(EXAMPLES[t])) | st.binary(max_size=80), max_size=12))
def test_batch_matches_single_decodes(raws: list[bytes]) -> None:
    items = [(raw, KAFKA) for raw in raws]
    batch = EventDecoder().decode_batch(items)
    single = [DECODER.decode(raw, loc) for raw, loc in items]
    assert [e for e, _ in batch.events] == [r for r in single if not isinstance(r, Reject)]
    assert batch.rejects == [r for r in single if isinstance(r, Reject)]
