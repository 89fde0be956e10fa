"""首违免罚 and repeat offenders: advice or case for an alert, and severity for repeats.

Legal ground. 《中华人民共和国行政处罚法》(2021-01-22) 第三十三条第一款: a minor
violation corrected in time with no harmful result is not punished; a first
violation with slight harm corrected in time may go unpunished, and the party
is educated instead (提醒告诫/行政指导). 《明码标价和禁止价格欺诈规定》第二十六条第二款
and the local 首违不罚 lists apply the same idea and leave out areas touching
life and health and 教育培训. The engine only proposes: the regulator decides.

Decision, per alert (:func:`decide`):

* rule family in ``excluded_families`` -> ``case`` / ``excluded_family``;
* rule not flagged ``minor`` -> ``case`` / ``not_minor``;
* same type already seen within the look-back:
  - while an advisory of that type is inside its correction period, further
    hits of the type (any subject) join that advisory -> ``advisory`` /
    ``in_correction``: the violation goes on until the merchant corrects it,
    and a store-wide problem found SKU by SKU is still one first violation;
  - after the deadline, the same rule on the same merchant+subject ->
    ``case`` / ``not_corrected``; anything else of the type -> ``case`` /
    ``repeat_within_lookback``;
* otherwise -> ``advisory`` / ``first_minor`` with a correction deadline.

"Same type" is the rule id by default: a rule is written against one legal
provision, which is how 首违不罚 lists enumerate violations, while a family
such as ``advertising`` mixes provisions (绝对化用语 and 虚构效果 are different
violations). ``same_type="family"`` is there for bureaus that read it wider.

History is per merchant behind the StateStore protocol (namespace
``_history``, key ``(merchant_id,)``): a JSON list of small entries, one per
(rule, kind), pruned to the look-back and with bounded subject and alert-id
lists. Deciding the same alert id again (replay, or an updated dedup version)
gives the same answer, except that an advised alert that keeps firing past its
deadline turns into ``not_corrected``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, cast

from engine.alerts.alert import Alert, AlertDisposition
from engine.rules.model import raise_severity
from engine.state.store import StateStore

HISTORY_NAMESPACE = "_history"
REPEAT_NAMESPACE = "_repeat"

ADVISORY = "advisory"
CASE = "case"

FIRST_MINOR = "first_minor"
IN_CORRECTION = "in_correction"
REPEAT = "repeat_within_lookback"
NOT_CORRECTED = "not_corrected"
NOT_MINOR = "not_minor"
EXCLUDED_FAMILY = "excluded_family"

MAX_SUBJECTS = 32  # subjects remembered per history entry
MAX_ALERT_IDS = 32  # alert ids remembered per history entry (for idempotent replays)
MAX_REPEAT_ENTRIES = 64  # alerts remembered per merchant for repeat escalation

DEFAULT_EXCLUDED = frozenset({"medical", "drug", "health_food", "infant_food", "education"})

FAMILY_NAMES_CN: dict[str, str] = {
    "medical": "医疗",
    "drug": "药品",
    "health_food": "保健食品",
    "infant_food": "婴幼儿配方及特殊医学用途食品",
    "education": "教育培训",
}

_CHINA = timezone(timedelta(hours=8))
_DAY = 86_400.0


@dataclass(frozen=True)
class LeniencyPolicy:
    """When a first minor violation gets advice (提醒告诫) instead of a case."""

    lookback_days: int = 730  # 24 months without a same-type violation makes a violation "first"
    correction_days: int = 15  # deadline to correct after the advisory (from the first hit)
    excluded_families: frozenset[str] = field(default=DEFAULT_EXCLUDED)
    same_type: str = "rule"  # "rule": same rule id; "family": same rule family

    def __post_init__(self) -> None:
        if self.lookback_days <= 0 or self.correction_days <= 0:
            raise ValueError("lookback_days and correction_days must be positive")
        if self.correction_days >= self.lookback_days:
            raise ValueError("correction_days must be shorter than lookback_days")
        if self.same_type not in ("rule", "family"):
            raise ValueError(f"same_type must be 'rule' or 'family', not {self.same_type!r}")
        object.__setattr__(self, "excluded_families", frozenset(self.excluded_families))


@dataclass(frozen=True)
class RepeatPolicy:
    """Raise severity when one merchant keeps violating: ``threshold`` alerts within ``window_days``."""

    threshold: int = 3
    window_days: float = 7.0
    steps: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.threshold <= MAX_REPEAT_ENTRIES:
            raise ValueError(f"threshold must be between 1 and {MAX_REPEAT_ENTRIES}")
        if self.window_days <= 0:
            raise ValueError("window_days must be positive")


def iso_ts(value: str) -> float:
    """Epoch seconds of an ISO-8601 time (naive times are taken as UTC)."""
    dt = datetime.fromisoformat(value)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def china_date(ts: float) -> str:
    """The calendar date (YYYY-MM-DD) of ``ts`` in China time, as regulators read it."""
    return datetime.fromtimestamp(ts, tz=_CHINA).date().isoformat()


# -- 首违免罚 ---------------------------------------------------------------
def decide(alert: Alert, history: list[dict[str, Any]] | None, policy: LeniencyPolicy = LeniencyPolicy()
           ) -> tuple[AlertDisposition, list[dict[str, Any]]]:
    """Disposition of ``alert`` given the merchant's history; return it and the new history.

    Pure: ``history`` is not modified. The new history is pruned to the
    look-back and includes this alert.
    """
    first = iso_ts(alert.event_time)
    seen = iso_ts(alert.last_seen) if alert.last_seen else first
    horizon = seen - policy.lookback_days * _DAY
    entries = [_copy(e) for e in history or () if e["last"] >= horizon]
    subject = alert.subject or ""

    for e in entries:  # this alert was decided before: answer the same way
        known = e["alerts"].get(alert.alert_id)
        if known is None:
            continue
        if e["kind"] == ADVISORY and seen >= e["deadline"]:
            # the advised violation was still going on after its deadline
            del e["alerts"][alert.alert_id]
            _record(entries, _case_entry(entries, alert), alert, CASE, NOT_CORRECTED, e["first"], e["deadline"], seen)
            return _disposition(alert, policy, NOT_CORRECTED, e["first"], e["deadline"]), entries
        code, ref, deadline = known
        e["last"] = max(e["last"], seen)  # a continuing violation counts from its end (行政处罚法第三十六条)
        return _disposition(alert, policy, code, ref, deadline), entries

    open_advice: dict[str, Any] | None = None
    if alert.family in policy.excluded_families:
        code, ref, deadline = EXCLUDED_FAMILY, None, None
    elif not alert.minor:
        code, ref, deadline = NOT_MINOR, None, None
    else:
        same = [e for e in entries if _same_type(e, alert, policy)]
        open_advice = next((e for e in same if e["kind"] == ADVISORY and first < e["deadline"]), None)
        overdue = next((e for e in same if e["kind"] == ADVISORY and e["rule"] == alert.rule_id
                        and subject in e["subjects"]), None)
        if open_advice is not None:
            code, ref, deadline = IN_CORRECTION, open_advice["first"], open_advice["deadline"]
        elif overdue is not None:
            code, ref, deadline = NOT_CORRECTED, overdue["first"], overdue["deadline"]
        elif same:
            code, ref, deadline = REPEAT, max(e["last"] for e in same), None
        else:
            code, ref, deadline = FIRST_MINOR, None, first + policy.correction_days * _DAY
    if code == IN_CORRECTION:
        _record(entries, open_advice, alert, ADVISORY, code, ref, deadline, seen)
    elif code == FIRST_MINOR:
        _record(entries, None, alert, ADVISORY, code, ref, deadline, seen)
    else:
        _record(entries, _case_entry(entries, alert), alert, CASE, code, ref, deadline, seen)
    return _disposition(alert, policy, code, ref, deadline), entries


ANOMALY_LEAD = AlertDisposition(
    kind="review", code="anomaly_lead",
    reason="异常检测模型线索，不是违法认定：请结合证据人工研判，确有违法事实再依规则立案或提醒告诫",
)


def dispose(alert: Alert, store: StateStore, policy: LeniencyPolicy = LeniencyPolicy()) -> AlertDisposition:
    """Decide ``alert``'s disposition and record it in the merchant's history in ``store``.

    A shadow alert is decided but not recorded: a rule on trial must not
    change how live alerts are handled. An anomaly model's alert is a lead
    for review, not a violation: it is never recorded and never counts
    toward 首违免罚 or repeats.
    """
    if alert.model is not None:
        return ANOMALY_LEAD
    key = (alert.merchant.merchant_id,)
    history: Any = store.get(HISTORY_NAMESPACE, key)  # the protocol is typed for windows; values are JSON
    disposition, entries = decide(alert, history, policy)
    if not alert.shadow:
        store.put(HISTORY_NAMESPACE, key, cast(Any, entries))
    return disposition


def _same_type(entry: dict[str, Any], alert: Alert, policy: LeniencyPolicy) -> bool:
    return entry["family"] == alert.family if policy.same_type == "family" else entry["rule"] == alert.rule_id


def _copy(entry: dict[str, Any]) -> dict[str, Any]:
    return {**entry, "subjects": list(entry["subjects"]), "alerts": dict(entry["alerts"])}


def _case_entry(entries: list[dict[str, Any]], alert: Alert) -> dict[str, Any] | None:
    return next((e for e in entries if e["rule"] == alert.rule_id and e["kind"] == CASE), None)


def _record(entries: list[dict[str, Any]], entry: dict[str, Any] | None, alert: Alert, kind: str, code: str,
            ref: float | None, deadline: float | None, seen: float) -> None:
    """Fold the alert into ``entry`` (or a new entry of ``kind`` appended to ``entries``).

    Each entry remembers, per alert id, ``[code, ref, deadline]``: enough to
    give a replayed alert the same disposition and reason.
    """
    if entry is None:
        entry = {"rule": alert.rule_id, "family": alert.family, "kind": kind, "first": iso_ts(alert.event_time),
                 "last": seen, "deadline": deadline if kind == ADVISORY else None, "subjects": [], "alerts": {}}
        entries.append(entry)
    entry["last"] = max(entry["last"], seen)
    subject = alert.subject or ""
    if subject not in entry["subjects"]:
        entry["subjects"] = (entry["subjects"] + [subject])[-MAX_SUBJECTS:]
    entry["alerts"][alert.alert_id] = [code, ref, deadline]
    while len(entry["alerts"]) > MAX_ALERT_IDS:
        del entry["alerts"][next(iter(entry["alerts"]))]


def _disposition(alert: Alert, policy: LeniencyPolicy, code: str, ref: float | None,
                 deadline: float | None) -> AlertDisposition:
    months = round(policy.lookback_days / 30.42)
    due = china_date(deadline) if deadline is not None else None
    since = china_date(ref) if ref is not None else None
    rule = f"{alert.rule_id}（{alert.rule_title}）" if alert.rule_title else alert.rule_id
    if code == FIRST_MINOR:
        reason = (f"该经营者近{months}个月内首次出现此类轻微违法行为（规则 {rule}），依据《中华人民共和国行政处罚法》"
                  f"第三十三条第一款，建议提醒告诫（行政指导），责令于{due}前改正；按期改正且未造成危害后果的，可不予行政处罚。")
    elif code == IN_CORRECTION:
        reason = (f"该经营者此类违法行为已于{since}提醒告诫，现仍在整改期限（{due}前）内，"
                  f"本条线索并入同一整改事项，期满后复核是否改正。")
    elif code == NOT_CORRECTED:
        reason = (f"该经营者于{since}因同一问题被提醒告诫，逾期（{due}）仍未改正，不适用首违免罚，建议立案调查。")
    elif code == REPEAT:
        reason = (f"该经营者近{months}个月内已有同类违法行为（最近一次 {since}），不属于初次违法，不适用首违免罚，建议立案调查。")
    elif code == NOT_MINOR:
        reason = f"规则 {rule} 所涉违法行为未列为轻微违法情形，不适用首违免罚，建议立案调查。"
    elif code == EXCLUDED_FAMILY:
        area = FAMILY_NAMES_CN.get(alert.family, alert.family)
        reason = f"规则 {rule} 属于{area}领域，涉及人身健康安全或教育培训，依规不适用首违免罚，建议立案调查。"
    else:  # pragma: no cover - codes are module constants
        raise ValueError(f"unknown disposition code {code!r}")
    kind = ADVISORY if code in (FIRST_MINOR, IN_CORRECTION) else CASE
    return AlertDisposition(kind=kind, code=code, reason=reason, deadline=due if kind == ADVISORY else None)


# -- repeat offenders -------------------------------------------------------
def escalate_for_repeat(alert: Alert, store: StateStore, policy: RepeatPolicy = RepeatPolicy()) -> tuple[str, int]:
    """Severity for ``alert`` and how many alerts its merchant had in the window ending at it.

    Records the alert (once per alert id) under namespace ``_repeat``, key
    ``(merchant_id,)``. When the count reaches ``policy.threshold`` the
    severity is raised by ``policy.steps`` levels. Shadow alerts are neither
    counted nor escalated.
    """
    if alert.shadow:
        return alert.severity, 0
    key = (alert.merchant.merchant_id,)
    ts = iso_ts(alert.event_time)
    window = policy.window_days * _DAY
    stored: Any = store.get(REPEAT_NAMESPACE, key)
    entries = [list(e) for e in stored or ()]
    if not any(e[1] == alert.alert_id for e in entries):
        entries.append([ts, alert.alert_id])
    newest = max(e[0] for e in entries)
    entries = sorted((e for e in entries if e[0] > newest - window), key=lambda e: (e[0], e[1]))[-MAX_REPEAT_ENTRIES:]
    store.put(REPEAT_NAMESPACE, key, cast(Any, entries))
    count = sum(1 for e in entries if ts - window < e[0] <= ts)
    severity = raise_severity(alert.severity, policy.steps) if count >= policy.threshold else alert.severity
    return severity, count


def evict(store: StateStore, now_ts: float, policy: LeniencyPolicy = LeniencyPolicy(),
          repeat: RepeatPolicy = RepeatPolicy()) -> int:
    """Forget merchants whose whole history is older than the look-back (or repeat window); return how many keys."""
    doomed: list[tuple[str, tuple[str, ...]]] = []
    horizon = now_ts - policy.lookback_days * _DAY
    items: Any = store.items(HISTORY_NAMESPACE)
    doomed += [(HISTORY_NAMESPACE, k) for k, v in items if all(e["last"] < horizon for e in v)]
    horizon = now_ts - repeat.window_days * _DAY
    items = store.items(REPEAT_NAMESPACE)
    doomed += [(REPEAT_NAMESPACE, k) for k, v in items if all(e[0] <= horizon for e in v)]
    for namespace, key in doomed:
        store.delete(namespace, key)
    return len(doomed)
