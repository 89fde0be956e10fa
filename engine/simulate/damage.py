"""Malformed input: replace a fraction of lines with the damage real feeds carry.

Kinds (and the decoder reason each should produce, see
:mod:`engine.events.deadletter`):

* ``garbage`` — binary noise or a proxy's HTML error page (``not_utf8`` / ``bad_json``)
* ``truncated`` — the line cut short at a character boundary (``bad_json``)
* ``invalid_utf8`` — invalid bytes inside a string value (``not_utf8``)
* ``wrong_type`` — a field of the wrong JSON type (``bad_field``)
* ``bad_uscc`` — the merchant's USCC with a wrong check character (``bad_uscc``)
* ``unknown_event_type`` — an ``event_type`` schema v1 does not have (``unknown_event_type``)

Lines that belong to an incident are never damaged, so every event id in the
truth file exists in the stream.
"""
from __future__ import annotations

import random

import orjson

from engine.events.uscc import CHARSET

KINDS: tuple[tuple[str, float], ...] = (
    ("garbage", 0.15), ("truncated", 0.25), ("invalid_utf8", 0.15),
    ("wrong_type", 0.20), ("bad_uscc", 0.15), ("unknown_event_type", 0.10),
)
_HTML = (
    b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>"
)
_WRONG_TYPE = {
    "order": ("qty", lambda v: str(v)),
    "listing": ("display_price", lambda v: f"¥{v}"),
    "live_metrics": ("online_measured", lambda v: f"{v}人"),
    "live_utterance": ("asr_conf", lambda v: "high"),
    "complaint": ("complainant_hash", lambda v: 13800000000),
}
_UNKNOWN_TYPES = ("live_comment", "shop_snapshot", "review", "live_item")


class Damager:
    """Turns a valid line into a malformed one of a chosen kind."""

    def __init__(self, rnd: random.Random) -> None:
        self.rnd = rnd

    def kind(self) -> str:
        """Draw a damage kind."""
        x = self.rnd.random()
        for k, w in KINDS:
            x -= w
            if x < 0:
                return k
        return KINDS[-1][0]

    def apply(self, line: bytes, kind: str) -> tuple[bytes, str, str, dict]:
        """Damage ``line``; returns (new line, kind actually applied, expected reason, original doc)."""
        doc = orjson.loads(line)
        rnd = self.rnd
        if kind == "bad_uscc" and not doc["merchant"].get("uscc"):
            kind = "wrong_type"
        if kind == "garbage":
            if rnd.random() < 0.5:
                return _HTML + b"\n", kind, "bad_json", doc
            first = bytes([rnd.choice((0x00, 0x1B, 0x7F, 0x80, 0x9F, 0xC0, 0xFF))])
            body = (rnd.getrandbits(8) for _ in range(rnd.randint(16, 160)))
            noise = first + bytes(b for b in body if b not in (0x0A, 0x0D))
            try:
                noise.decode("utf-8")
                reason = "bad_json"
            except UnicodeDecodeError:
                reason = "not_utf8"
            return noise + b"\n", kind, reason, doc
        if kind == "truncated":
            k = rnd.randint(16, max(17, len(line) - 3))
            while k > 1 and (line[k] & 0xC0) == 0x80:  # do not split a UTF-8 character
                k -= 1
            return line[:k] + b"\n", kind, "bad_json", doc
        if kind == "invalid_utf8":
            marker = b'"name":"'
            i = line.find(marker)
            i = i + len(marker) if i >= 0 else 1
            bad = rnd.choice((b"\xff\xfe", b"\xc3\x28", b"\x80", b"\xed\xa0\x80"))
            return line[:i] + bad + line[i:], kind, "not_utf8", doc
        new = dict(doc)
        if kind == "wrong_type":
            field, change = _WRONG_TYPE[doc["event_type"]]
            if rnd.random() < 0.25:
                field, change = "occurred_at", lambda v: 1_700_000_000
            new[field] = change(doc[field])
            reason = "bad_field"
        elif kind == "bad_uscc":
            uscc = doc["merchant"]["uscc"]
            wrong = rnd.choice([c for c in CHARSET if c != uscc[-1]])
            new["merchant"] = {**doc["merchant"], "uscc": uscc[:-1] + wrong}
            reason = "bad_uscc"
        else:
            new["event_type"] = rnd.choice(_UNKNOWN_TYPES)
            reason = "unknown_event_type"
        return orjson.dumps(new) + b"\n", kind, reason, doc
