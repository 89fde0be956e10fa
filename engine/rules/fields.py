"""What fields a rule may read, derived from the event schema.

Rule conditions name fields such as ``display_price`` or
``merchant.op_region_code``. This module turns the msgspec event classes into
a small type description so the compiler can (a) refuse unknown fields by
name, (b) know which fields can be null, and (c) check literal comparisons
against enumerated values (``category_std == "食物"`` is a typo, not a rule).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from msgspec import inspect as mi

from engine.events.schema import EVENT_CLASSES, TEXT_FIELDS


@dataclass(frozen=True)
class FieldType:
    """Type of one field as a rule sees it."""

    kind: str  # str, int, float, bool, datetime, date, list, struct, any
    nullable: bool = False
    values: tuple[str, ...] = ()  # allowed values of an enumerated (Literal) field
    fields: dict[str, "FieldType"] = field(default_factory=dict)  # struct members
    item: "FieldType | None" = None  # list item type

    @property
    def numeric(self) -> bool:
        """True for int and float fields."""
        return self.kind in ("int", "float")


def _describe(t: mi.Type) -> FieldType:
    nullable = False
    if isinstance(t, mi.UnionType):
        members = [m for m in t.types if not isinstance(m, mi.NoneType)]
        nullable = len(members) != len(t.types)
        if len(members) == 1:
            inner = _describe(members[0])
            return FieldType(inner.kind, True if nullable else inner.nullable, inner.values, inner.fields, inner.item)
        return FieldType("any", nullable)
    if isinstance(t, mi.Metadata):
        return _describe(t.type)
    if isinstance(t, mi.StrType):
        return FieldType("str")
    if isinstance(t, mi.BoolType):
        return FieldType("bool")
    if isinstance(t, mi.IntType):
        return FieldType("int")
    if isinstance(t, mi.FloatType):
        return FieldType("float")
    if isinstance(t, mi.DateTimeType):
        return FieldType("datetime")
    if isinstance(t, mi.DateType):
        return FieldType("date")
    if isinstance(t, mi.LiteralType):
        return FieldType("str", values=tuple(str(v) for v in t.values))
    if isinstance(t, mi.ListType):
        return FieldType("list", item=_describe(t.item_type))
    if isinstance(t, mi.StructType):
        return FieldType("struct", fields={f.name: _describe(f.type) for f in t.fields})
    return FieldType("any")


@lru_cache(maxsize=None)
def event_fields(event_type: str) -> dict[str, FieldType]:
    """Top-level fields a condition may name for ``event_type`` (plus virtual ones)."""
    info = mi.type_info(EVENT_CLASSES[event_type])
    assert isinstance(info, mi.StructType)
    out = {f.name: _describe(f.type) for f in info.fields}
    out["event_type"] = FieldType("str", values=tuple(EVENT_CLASSES))
    out["ts"] = FieldType("float")  # event time, seconds since the epoch
    out["text"] = FieldType("str")  # every free-text field of the event, joined
    return out


def resolve(event_type: str, path: tuple[str, ...]) -> FieldType | None:
    """Type of a dotted field path for an event type, or None if it does not exist."""
    fields = event_fields(event_type)
    ftype: FieldType | None = None
    nullable = False
    for part in path:
        if fields is None or part not in fields:
            return None
        ftype = fields[part]
        nullable = nullable or ftype.nullable
        fields = ftype.fields if ftype.kind == "struct" else None
    if ftype is None:
        return None
    return FieldType(ftype.kind, nullable or ftype.nullable, ftype.values, ftype.fields, ftype.item)


def text_fields(event_type: str) -> tuple[str, ...]:
    """Free-text fields of an event type, in the order the virtual ``text`` joins them."""
    return TEXT_FIELDS[event_type]


def all_field_names() -> set[str]:
    """Every top-level field name of any event type (for 'did you mean' hints)."""
    names: set[str] = set()
    for et in EVENT_CLASSES:
        names.update(event_fields(et))
    return names


__all__ = ["FieldType", "event_fields", "resolve", "text_fields", "all_field_names"]
