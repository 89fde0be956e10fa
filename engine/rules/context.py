"""Per-event evaluation context handed to compiled conditions.

One context is made per event. It caches what several rules may ask for
(normalised text per field, window values, model scores, text-function
results) so each is computed at most once per event, and it collects the
evidence a firing rule attaches to its alert: matched terms with their
original spans, and the window values the rule read.
"""
from __future__ import annotations

from typing import Any, Callable

from engine.rules.text import NormText, normalize


class EvalContext:
    """Everything a compiled condition may look at while evaluating one event."""

    __slots__ = ("event", "etype", "ts", "_norm", "_windows", "_reader", "memo", "matches", "windows_seen", "scores",
                 "recent_alerts", "clean")

    def __init__(
        self,
        event: Any,
        etype: str,
        ts: float,
        window_reader: Callable[["EvalContext", str], Any] | None = None,
        scores: dict[str, float] | None = None,
        recent_alerts: Callable[["EvalContext"], dict | None] | None = None,
    ) -> None:
        self.event = event
        self.etype = etype
        self.ts = ts
        self._norm: dict[str, NormText] = {}
        self._windows: dict[str, Any] = {}
        self._reader = window_reader
        self.memo: dict[Any, Any] = {}  # computed once per event: text-function answers, window keys (by key reader)
        self.matches: list[dict[str, Any]] = []
        self.windows_seen: dict[str, Any] = {}
        self.scores = scores if scores is not None else _NO_SCORES
        self.recent_alerts = recent_alerts  # this merchant's recent alerts by family, if the runtime keeps them
        # Fields in which the pack-wide prefilter found no term (or that hold no text): every
        # prefiltered text function on them answers "nothing" at once (see norm_pre). A shared
        # empty frozenset until the first such field, so events without text allocate nothing.
        self.clean: frozenset[str] | set[str] = _NO_FIELDS

    def norm(self, field: str, getter: Callable[["EvalContext"], Any]) -> NormText | None:
        """Normalised text of a field, computed once per event."""
        cached = self._norm.get(field)
        if cached is None and field not in self._norm:
            raw = getter(self)
            cached = normalize(raw) if isinstance(raw, str) and raw else None
            self._norm[field] = cached  # type: ignore[assignment]
        return cached

    def norm_pre(self, field: str, getter: Callable[["EvalContext"], Any], prefilter: Any) -> NormText | None:
        """Normalised text of a field, or None when the pack-wide prefilter finds no term in it.

        The prefilter is one matcher over every term of every list of the pack; most
        texts hold none, so most text functions answer without running their own list.
        """
        norm = self.norm(field, getter)
        if prefilter is None:
            return norm
        if norm is not None:
            key = ("prefilter", field)
            hit = self.memo.get(key)
            if hit is None:
                hit = self.memo[key] = prefilter.search(norm)
            if hit:
                return norm
        # no text, or no term of any covered list in it: remember, so the next prefiltered
        # text function on this field answers without a lookup (EvalContext.clean)
        if self.clean is _NO_FIELDS:
            self.clean = {field}
        else:
            self.clean.add(field)  # type: ignore[union-attr]
        return None

    def window(self, name: str) -> Any:
        """The value of a declared window for this event's key (cached), or None."""
        value = self._windows.get(name, _MISSING)
        if value is _MISSING:
            value = self._reader(self, name) if self._reader is not None else None
            self._windows[name] = value
        if value is not None:
            self.windows_seen[name] = value
        return value

    def begin_rule(self) -> None:
        """Start collecting evidence for the next rule (allocates only when the last rule kept some)."""
        if self.matches:
            self.matches = []
        if self.windows_seen:
            self.windows_seen = {}


_MISSING = object()
_NO_FIELDS: frozenset[str] = frozenset()  # EvalContext.clean of an event with no clean field yet; never written to
_NO_SCORES: dict[str, float] = {}  # shared by every event without model scores; never written to
