"""The life cycle of a stored alert and which moves a regulator may make.

new → acknowledged → advised (提醒告诫) | case_opened (立案) → closed.
An acknowledged alert may also be closed directly (e.g. a false alarm, with a
note), and an advised merchant who does not correct may still get a case.
Nothing leaves ``closed``: a new violation raises a new alert.
"""
from __future__ import annotations

STATUSES: tuple[str, ...] = ("new", "acknowledged", "advised", "case_opened", "closed")

TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"acknowledged"}),
    "acknowledged": frozenset({"advised", "case_opened", "closed"}),
    "advised": frozenset({"case_opened", "closed"}),
    "case_opened": frozenset({"closed"}),
    "closed": frozenset(),
}

STATUS_NAMES_CN: dict[str, str] = {
    "new": "新预警",
    "acknowledged": "已签收",
    "advised": "已提醒告诫",
    "case_opened": "已立案",
    "closed": "已办结",
}


def allowed(from_status: str, to_status: str) -> bool:
    """True if an alert in ``from_status`` may move to ``to_status``."""
    return to_status in TRANSITIONS.get(from_status, frozenset())
