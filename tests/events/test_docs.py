"""docs/events.md is generated in part; it must match the code."""
from __future__ import annotations

import re

import msgspec

from engine.events.deadletter import Reject
from engine.events.decode import DEFAULT_MAX_BYTES
from engine.events.schema import SCHEMA_VERSION

from .docgen import DOC, SECTIONS, render


def test_doc_is_up_to_date() -> None:
    current = DOC.read_text(encoding="utf-8")
    assert render(current) == current, "docs/events.md is stale: run .venv/bin/python tests/events/docgen.py"


def test_every_generated_section_is_present() -> None:
    text = DOC.read_text(encoding="utf-8")
    for name in SECTIONS:
        assert f"<!-- BEGIN GENERATED: {name} -->" in text and f"<!-- END GENERATED: {name} -->" in text


def test_record_format_table_lists_the_reject_fields() -> None:
    text = DOC.read_text(encoding="utf-8")
    table = text.split("### Record format", 1)[1].split("\n\n", 2)[2].split("\n\n", 1)[0]
    documented = re.findall(r"^\| `(\w+)` \|", table, re.M)
    assert documented == [f.name for f in msgspec.structs.fields(Reject)]


def test_doc_mentions_kafka_key_and_versioning() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert "keyed by\n  `merchant.merchant_id`" in text or "Key: `merchant.merchant_id`" in text
    assert "unsupported_schema_version" in text and "Unknown fields are ignored" in text


def test_hand_written_numbers_match_the_code() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert f"(currently `{SCHEMA_VERSION}`)" in text
    assert DEFAULT_MAX_BYTES == 1 << 20 and "at most 1 MiB" in text
