"""How a compiled pack is laid out over Kafka partitions (pure: no Kafka, no Faust).

Events are keyed by merchant id, so one merchant's events, windows and alert
state live on one partition. A window whose key is not scoped to a merchant
(e.g. ``complainant_hash``: one complainant files against many shops) cannot be
kept that way: its events sit on many partitions. :func:`plan_for` finds those
*cross-merchant* windows from the pack, groups them by key expression and says
which event types need them. The Faust runtime then asks the partition that
owns the cross key (through a re-keyed topic) for the window values, and
evaluates the event on its merchant partition with them (see docs/distributed.md).

A window is merchant-scoped when its key starts with ``merchant.merchant_id``
or is made only of fields that belong to one merchant (a livestream room,
session, SKU or listing never moves between shops; see
:data:`MERCHANT_SCOPED_FIELDS`).
"""
from __future__ import annotations

import ast
import dataclasses
from dataclasses import dataclass
from typing import Any

from engine.rules.evaluator import CompiledPack

#: Fields whose values belong to exactly one merchant on a platform: a window keyed
#: by them alone is co-partitioned with events keyed by merchant id.
MERCHANT_SCOPED_FIELDS: frozenset[tuple[str, ...]] = frozenset({
    ("merchant", "merchant_id"), ("merchant", "uscc"), ("room_id",), ("session_id",), ("live_session_id",),
    ("sku_id",), ("listing_id",), ("order_id",), ("shop_id",), ("item_id",), ("current_item_id",),
})


class TopologyError(ValueError):
    """The pack cannot run partitioned (a cross-merchant window depends on a merchant window)."""


@dataclass(frozen=True)
class CrossGroup:
    """Cross-merchant windows sharing one key expression: evaluated together on the key's partition."""

    index: int
    key: tuple[tuple[str, ...], ...]  # key field paths, e.g. (("complainant_hash",),)
    windows: tuple[str, ...]  # in pack declaration order
    event_types: frozenset[str]  # event types that carry the key (feed or can read the windows)


@dataclass(frozen=True)
class Plan:
    """Which windows are cross-merchant and which event types must be re-keyed for them."""

    groups: tuple[CrossGroup, ...]

    @property
    def cross_windows(self) -> frozenset[str]:
        return frozenset(w for g in self.groups for w in g.windows)

    @property
    def rekeyed_types(self) -> frozenset[str]:
        return frozenset(t for g in self.groups for t in g.event_types)

    def groups_for(self, etype: str) -> tuple[CrossGroup, ...]:
        return tuple(g for g in self.groups if etype in g.event_types)


def is_merchant_scoped(key: tuple[tuple[str, ...], ...]) -> bool:
    """True when every event with one value of this key has one merchant."""
    if not key:
        return False
    if tuple(key[0]) == ("merchant", "merchant_id"):
        return True
    return all(tuple(k) in MERCHANT_SCOPED_FIELDS for k in key)


def _windows_read(cond: Any) -> set[str]:
    names: set[str] = set()
    if cond is None:
        return names
    for node in ast.walk(cond.tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "window"):
            names.add(node.attr)
    return names


def plan_for(cp: CompiledPack) -> Plan:
    """The partitioning plan of a compiled pack; raises TopologyError if it cannot be partitioned."""
    defs = cp.pack.windows
    cross = [w for w in defs.values() if not is_merchant_scoped(w.key)]
    groups: dict[tuple, list[str]] = {}
    for w in cross:
        groups.setdefault(tuple(tuple(k) for k in w.key), []).append(w.name)
    cross_names = {w.name for w in cross}
    for w in cross:
        reads = set().union(*(_windows_read(c) for c in (w.where, w.value_condition, w.distinct_condition)))
        for r in reads:
            if r not in cross_names:
                raise TopologyError(f"window {w.name!r} is keyed across merchants but reads window {r!r}, "
                                    f"which is kept per merchant; distributed mode cannot evaluate it")
            if tuple(tuple(k) for k in defs[r].key) != tuple(tuple(k) for k in w.key):
                raise TopologyError(f"window {w.name!r} reads cross-merchant window {r!r} with a different key; "
                                    f"distributed mode supports one key per chain of cross-merchant windows")
    out = []
    for i, (key, names) in enumerate(groups.items()):
        types = frozenset(t for (n, t) in cp.window_keys if n in names)
        out.append(CrossGroup(i, key, tuple(names), types))
    return Plan(tuple(out))


def restrict(cp: CompiledPack, feed_windows: frozenset[str], keep_rules: bool) -> CompiledPack:
    """A copy of ``cp`` that feeds only ``feed_windows`` (and has no rules unless ``keep_rules``)."""
    feeds = {t: tuple(w for w in ws if w.name in feed_windows) for t, ws in cp.feeds.items()}
    rules = cp.rules if keep_rules else {t: () for t in cp.rules}
    return dataclasses.replace(cp, feeds=feeds, rules=rules)
