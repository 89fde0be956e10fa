"""EventDecoder: every reason code, paths, raw handling, batches, never raising."""
from __future__ import annotations

import base64
import json

import msgspec
import pytest

from engine.errors import EventError, Location
from engine.events import deadletter as dl
from engine.events.deadletter import Reject
from engine.events.decode import EventDecoder
from engine.events.examples import EXAMPLES
from engine.events.schema import EVENT_CLASSES, Listing, event_type_of
from engine.events.uscc import make_uscc

from .helpers import KAFKA, LOC, encode, variant


@pytest.fixture
def decoder() -> EventDecoder:
    return EventDecoder()


def rejected(decoder: EventDecoder, raw: bytes, source: Location = LOC) -> Reject:
    result = decoder.decode(raw, source)
    assert isinstance(result, Reject), f"expected a reject, got {result!r}"
    assert result.reason in dl.REASONS and result.message
    return result


# -- accepted ---------------------------------------------------------------


@pytest.mark.parametrize("event_type", list(EXAMPLES))
def test_examples_decode_to_their_class(decoder: EventDecoder, event_type: str) -> None:
    event = decoder.decode(variant(event_type), LOC)
    assert type(event) is EVENT_CLASSES[event_type]
    assert event_type_of(event) == event_type
    assert event.event_id == EXAMPLES[event_type]["event_id"]


@pytest.mark.parametrize("suffix", [b"\n", b"\r\n", b"  \t\n"])
def test_trailing_whitespace_is_fine(decoder: EventDecoder, suffix: bytes) -> None:
    assert isinstance(decoder.decode(variant("order") + suffix, LOC), EVENT_CLASSES["order"])


def test_bom_is_stripped(decoder: EventDecoder) -> None:
    assert isinstance(decoder.decode(b"\xef\xbb\xbf" + variant("listing"), LOC), Listing)


def test_unknown_fields_are_ignored_at_every_level(decoder: EventDecoder) -> None:
    raw = variant(
        "listing",
        {"x_new_field": {"a": [1, 2]}, "merchant": {"x_tier": "gold"}, "promo": {"x_stack": True}},
    )
    event = decoder.decode(raw, LOC)
    assert isinstance(event, Listing) and not hasattr(event, "x_new_field")


def test_minor_versions_are_accepted(decoder: EventDecoder) -> None:
    assert isinstance(decoder.decode(variant("listing", {"schema_ver": "1.7"}), LOC), Listing)


def test_null_uscc_is_accepted(decoder: EventDecoder) -> None:
    raw = variant("listing", {"merchant": {"uscc": None, "is_natural_person": True}})
    assert isinstance(decoder.decode(raw, LOC), Listing)


def test_str_input_is_accepted_too(decoder: EventDecoder) -> None:
    assert isinstance(decoder.decode(variant("listing").decode(), LOC), Listing)  # type: ignore[arg-type]


# -- one test per reason ----------------------------------------------------


def test_too_large(decoder: EventDecoder) -> None:
    raw = variant("listing")
    small = EventDecoder(max_bytes=len(raw) - 1)
    reject = rejected(small, raw)
    assert reject.reason == dl.TOO_LARGE and reject.path is None
    assert str(len(raw)) in reject.message
    assert reject.raw_bytes() == raw  # kept whole
    assert isinstance(EventDecoder(max_bytes=len(raw)).decode(raw, LOC), Listing)


def test_not_utf8_keeps_raw_as_base64(decoder: EventDecoder) -> None:
    raw = b'{"event_type":"listing","title":"\xff\xfe"}'
    reject = rejected(decoder, raw)
    assert reject.reason == dl.NOT_UTF8
    assert reject.raw_encoding == "base64"
    assert base64.b64decode(reject.raw) == raw == reject.raw_bytes()
    assert "byte 33" in reject.message  # 0-based, like msgspec's positions


def test_not_utf8_inside_a_known_field_of_a_valid_event(decoder: EventDecoder) -> None:
    raw = variant("listing", {"title": "TITLE"}).replace(b"TITLE", b"\xe9\x9d")  # cut multi-byte char
    assert rejected(decoder, raw).reason == dl.NOT_UTF8


@pytest.mark.parametrize(
    "raw",
    [
        b'{"event_type": "listing", ',
        b'{"event_type": "listing"} trailing',
        b"{'event_type': 'listing'}",
        b'{"display_price": NaN}',
        b"",
        b"   \n",
        b"\xef\xbb\xbf",
    ],
)
def test_bad_json(decoder: EventDecoder, raw: bytes) -> None:
    reject = rejected(decoder, raw)
    assert reject.reason == dl.BAD_JSON and reject.path is None
    assert reject.raw_encoding == "utf-8" and reject.raw_bytes() == raw


def test_blank_input_says_so(decoder: EventDecoder) -> None:
    assert "blank lines are not events" in rejected(decoder, b"\n").message


def test_bad_json_even_when_an_earlier_field_is_also_wrong(decoder: EventDecoder) -> None:
    # msgspec stops at the first type error; the reason must not depend on that.
    assert rejected(decoder, b'{"event_type": 5, "x": [1, 2').reason == dl.BAD_JSON


@pytest.mark.parametrize(
    "raw, kind", [(b"[]", "array"), (b'"listing"', "string"), (b"42", "number"), (b"null", "null")]
)
def test_not_object(decoder: EventDecoder, raw: bytes, kind: str) -> None:
    reject = rejected(decoder, raw)
    assert reject.reason == dl.NOT_OBJECT and kind in reject.message


@pytest.mark.parametrize("value", ["listingz", "Listing", "", 3, None, ["listing"]])
def test_unknown_event_type(decoder: EventDecoder, value: object) -> None:
    reject = rejected(decoder, variant("listing", {"event_type": value}))
    assert reject.reason == dl.UNKNOWN_EVENT_TYPE
    assert reject.path == "$.event_type"
    assert "listing, order" in reject.message
    assert reject.event_type == (value if isinstance(value, str) else None)
    assert reject.event_id == EXAMPLES["listing"]["event_id"]


def test_missing_event_type(decoder: EventDecoder) -> None:
    reject = rejected(decoder, variant("order", drop=("event_type",)))
    assert (reject.reason, reject.path) == (dl.MISSING_FIELD, "$.event_type")


@pytest.mark.parametrize("version", ["2.0", "0.9", "2", "3.1.4", "10.0"])
def test_unsupported_schema_version(decoder: EventDecoder, version: str) -> None:
    reject = rejected(decoder, variant("complaint", {"schema_ver": version}))
    assert (reject.reason, reject.path) == (dl.UNSUPPORTED_SCHEMA_VERSION, "$.schema_ver")
    assert repr(version) in reject.message
    assert reject.event_type == "complaint"


def test_unsupported_version_wins_over_field_errors_anywhere(decoder: EventDecoder) -> None:
    # A v2 event whose first field (in document order) already breaks v1.
    event = {"event_type": "listing", "display_price": "免费", "schema_ver": "2.0"}
    reject = rejected(decoder, encode(event))
    assert reject.reason == dl.UNSUPPORTED_SCHEMA_VERSION


@pytest.mark.parametrize("version", ["1", "1.", "1.x", "v1.0", "1.0.1", 1, 1.0, "1.٣"])
def test_malformed_schema_version_is_a_bad_field(decoder: EventDecoder, version: object) -> None:
    reject = rejected(decoder, variant("listing", {"schema_ver": version}))
    assert (reject.reason, reject.path) == (dl.BAD_FIELD, "$.schema_ver")


@pytest.mark.parametrize(
    "event_type, dropped, path",
    [
        ("listing", "title", "$.title"),
        ("listing", "schema_ver", "$.schema_ver"),
        ("listing", "merchant", "$.merchant"),
        ("listing", "merchant.merchant_id", "$.merchant.merchant_id"),
        ("listing", "merchant.reg_region_code", "$.merchant.reg_region_code"),
        ("listing", "licences.0.no", "$.licences[0].no"),
        ("listing", "promo.promo_id", "$.promo.promo_id"),
        ("order", "qty", "$.qty"),
        ("live_metrics", "online_measured", "$.online_measured"),
        ("live_utterance", "asr_conf", "$.asr_conf"),
        ("complaint", "problem_cat", "$.problem_cat"),
    ],
)
def test_missing_field_path_names_the_field(decoder: EventDecoder, event_type: str, dropped: str, path: str) -> None:
    reject = rejected(decoder, variant(event_type, drop=(dropped,)))
    assert (reject.reason, reject.path) == (dl.MISSING_FIELD, path)
    assert f"`{path.rsplit('.', 1)[1]}`" in reject.message


@pytest.mark.parametrize(
    "event_type, patch, path",
    [
        ("listing", {"display_price": -1}, "$.display_price"),
        ("listing", {"display_price": "368"}, "$.display_price"),
        ("listing", {"display_price": True}, "$.display_price"),
        ("listing", {"display_price": 1e10}, "$.display_price"),
        ("listing", {"category_std": "玩具"}, "$.category_std"),
        ("listing", {"title": "长" * 513}, "$.title"),
        ("listing", {"occurred_at": "2025-06-12T09:30:00"}, "$.occurred_at"),
        ("listing", {"occurred_at": "yesterday"}, "$.occurred_at"),
        ("listing", {"licences": [{"type": 3, "no": "x"}]}, "$.licences[0].type"),
        ("listing", {"licences": [{"type": "a", "no": "b", "valid_to": "2027-02-30"}]}, "$.licences[0].valid_to"),
        ("listing", {"merchant": {"reg_region_code": "33010"}}, "$.merchant.reg_region_code"),
        ("listing", {"merchant": {"reg_region_code": "030106"}}, "$.merchant.reg_region_code"),
        ("listing", {"merchant": {"op_region_code": "３３０１０６"}}, "$.merchant.op_region_code"),
        ("listing", {"merchant": {"op_region_code": "33010\n"}}, "$.merchant.op_region_code"),
        ("listing", {"merchant": {"uscc": 91330106}}, "$.merchant.uscc"),
        ("listing", {"merchant": "m-1"}, "$.merchant"),
        ("listing", {"event_id": ""}, "$.event_id"),
        ("listing", {"sales_count_displayed": 10**30}, "$.sales_count_displayed"),
        ("listing", {"review_count": 1.5}, "$.review_count"),
        ("listing", {"evidence": {"sha256": "AB" * 32}}, "$.evidence.sha256"),
        ("order", {"qty": 0}, "$.qty"),
        ("order", {"status": "shipped"}, "$.status"),
        ("live_metrics", {"traffic_sources": {"paid": 1.5}}, "$.traffic_sources.paid"),
        ("live_utterance", {"price_mentions": [59, -1]}, "$.price_mentions[1]"),
        ("complaint", {"complainant_region_code": 440305}, "$.complainant_region_code"),
        ("complaint", {"complainant_region_code": "044030"}, "$.complainant_region_code"),
        ("order", {"schema_ver": "1.x"}, "$.schema_ver"),
        ("order", {"schema_ver": "1.0\n"}, "$.schema_ver"),
    ],
)
def test_bad_field_path(decoder: EventDecoder, event_type: str, patch: dict, path: str) -> None:
    reject = rejected(decoder, variant(event_type, patch))
    assert (reject.reason, reject.path) == (dl.BAD_FIELD, path)
    assert " - at `" not in reject.message  # the path lives in `path`
    assert reject.event_type == event_type


def test_bad_uscc_check_character(decoder: EventDecoder) -> None:
    good = make_uscc("91330106MA2H3K7PX")
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    reject = rejected(decoder, variant("listing", {"merchant": {"uscc": bad}}))
    assert (reject.reason, reject.path) == (dl.BAD_USCC, "$.merchant.uscc")
    assert repr(good[17]) in reject.message
    assert reject.event_id == EXAMPLES["listing"]["event_id"] and reject.event_type == "listing"


@pytest.mark.parametrize(
    "uscc",
    ["91330106ma2h3k7px5", "91330106MA2H3K7PX", "91330106MA2H3K7PX55", "91330106MA2H3K7PI5", "913301O6MA2H3K7PX5", ""],
)
def test_malformed_uscc_is_bad_uscc(decoder: EventDecoder, uscc: str) -> None:
    reject = rejected(decoder, variant("order", {"merchant": {"uscc": uscc}}))
    assert (reject.reason, reject.path) == (dl.BAD_USCC, "$.merchant.uscc")


def test_invalid_uscc_is_never_cached(decoder: EventDecoder) -> None:
    raw = variant("order", {"merchant": {"uscc": "91440305MA5G7T3N8M"}})
    assert rejected(decoder, raw).reason == dl.BAD_USCC
    assert rejected(decoder, raw).reason == dl.BAD_USCC


def test_uscc_cache_is_bounded() -> None:
    decoder = EventDecoder(uscc_cache_size=8)
    for i in range(50):
        code = make_uscc(f"9133010600000{i:04d}")
        assert isinstance(decoder.decode(variant("listing", {"merchant": {"uscc": code}}), LOC), Listing)
        assert len(decoder._valid_uscc) <= 8


# -- the record -------------------------------------------------------------


def test_source_and_json_record(decoder: EventDecoder) -> None:
    reject = rejected(decoder, variant("order", {"qty": 0}), KAFKA)
    assert reject.source == {"topic": "demo-mall.events", "partition": 2, "offset": 40917}
    record = json.loads(reject.to_json())
    assert list(record) == ["reason", "message", "path", "source", "event_id", "event_type", "raw", "raw_encoding"]
    assert "rejected_at" not in record
    assert record["raw"].encode() == variant("order", {"qty": 0})
    assert msgspec.json.decode(reject.to_json(), type=Reject) == reject


def test_file_source_omits_unset_fields(decoder: EventDecoder) -> None:
    reject = rejected(decoder, b"[]", Location(file="in.jsonl", line=3))
    assert reject.source == {"file": "in.jsonl", "line": 3}


def test_records_are_deterministic(decoder: EventDecoder) -> None:
    raw = variant("listing", {"display_price": -5})
    assert decoder.decode(raw, LOC).to_json() == EventDecoder().decode(raw, LOC).to_json()  # type: ignore[union-attr]


def test_bom_is_kept_in_raw(decoder: EventDecoder) -> None:
    raw = b"\xef\xbb\xbf" + variant("order", {"qty": 0})
    reject = rejected(decoder, raw)
    assert reject.reason == dl.BAD_FIELD and reject.raw_bytes() == raw


def test_as_error_says_where(decoder: EventDecoder) -> None:
    err = rejected(decoder, variant("listing", drop=("merchant.merchant_id",))).as_error()
    assert isinstance(err, EventError)
    assert str(err).startswith("events.jsonl:7: $.merchant.merchant_id: [missing_field]")


# -- never raises -----------------------------------------------------------


@pytest.mark.parametrize("raw", [None, 42, object(), [b"{}"], bytearray(b"[1]"), memoryview(b'{"a":')])
def test_garbage_inputs_do_not_raise(decoder: EventDecoder, raw: object) -> None:
    result = decoder.decode(raw, LOC)  # type: ignore[arg-type]
    assert isinstance(result, Reject) and result.reason and result.message


def test_a_decoder_bug_becomes_internal_error(decoder: EventDecoder) -> None:
    def boom(_: bytes) -> None:
        raise RuntimeError("kaboom")

    decoder._decode_json = boom  # type: ignore[assignment]
    reject = rejected(decoder, variant("listing"))
    assert reject.reason == dl.INTERNAL_ERROR and "kaboom" in reject.message
    assert reject.raw_bytes() == variant("listing")


def test_deep_nesting_is_bad_json(decoder: EventDecoder) -> None:
    raw = b'{"event_type":"listing","x":' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    assert rejected(decoder, raw).reason == dl.BAD_JSON


# -- batches ----------------------------------------------------------------


def test_batch_keeps_locations_and_order(decoder: EventDecoder) -> None:
    lines = [
        variant("listing"),
        b"not json",
        variant("order"),
        b"\xef\xbb\xbf" + variant("complaint"),
        variant("order", {"qty": 0}),
        variant("live_metrics", {"merchant": {"uscc": make_uscc("91330106MA2WWWWW1")}}),
        variant("listing", {"merchant": {"uscc": "91330106MA2H3K7PX6"}}),
    ]
    items = [(raw, Location(file="in.jsonl", line=i + 1)) for i, raw in enumerate(lines)]
    batch = decoder.decode_batch(items)
    events, rejects = batch  # a NamedTuple: unpacks like a pair
    assert [(event_type_of(e), loc.line) for e, loc in events] == [
        ("listing", 1),
        ("order", 3),
        ("complaint", 4),
        ("live_metrics", 6),
    ]
    assert [(r.reason, r.source["line"]) for r in rejects] == [
        (dl.BAD_JSON, 2),
        (dl.BAD_FIELD, 5),
        (dl.BAD_USCC, 7),
    ]
    assert all(loc is items[loc.line - 1][1] for _, loc in events)


def test_batch_agrees_with_single_decode(decoder: EventDecoder) -> None:
    lines = [variant(t) for t in EXAMPLES] + [b"", b"[]", variant("order", drop=("qty",)), None]
    items = [(raw, Location(offset=i)) for i, raw in enumerate(lines)]
    batch = EventDecoder().decode_batch(items)  # type: ignore[arg-type]
    single = [decoder.decode(raw, loc) for raw, loc in items]  # type: ignore[arg-type]
    assert [e for e, _ in batch.events] == [r for r in single if not isinstance(r, Reject)]
    assert batch.rejects == [r for r in single if isinstance(r, Reject)]


def test_empty_batch(decoder: EventDecoder) -> None:
    assert decoder.decode_batch([]) == ([], [])


def test_patterns_checked_once_per_code_still_reject_in_batches(decoder: EventDecoder) -> None:
    """Region codes and versions are pattern-checked by the decoder with a cache: a bad one is never cached."""
    good = variant("listing", {})
    bad_region = variant("listing", {"merchant": {"op_region_code": "030106"}})
    bad_version = variant("order", {"schema_ver": "1."})
    items = [(good, Location(line=1)), (bad_region, Location(line=2)), (good, Location(line=3)),
             (bad_version, Location(line=4)), (bad_region, Location(line=5))]
    batch = decoder.decode_batch(items)
    assert [loc.line for _, loc in batch.events] == [1, 3]
    assert [(r.path, r.source["line"]) for r in batch.rejects] == [
        ("$.merchant.op_region_code", 2), ("$.schema_ver", 4), ("$.merchant.op_region_code", 5)]
    assert all(r.reason == dl.BAD_FIELD and "matching regex" in r.message for r in batch.rejects)
    assert [r.message for r in batch.rejects] == [decoder.decode(raw, loc).message for raw, loc in items if raw != good]
