"""Serialise single events of each type (schema v1) and file them in the sink.

:class:`Emitter` is shared by the background streams and the injectors so
that an injected event looks exactly like a background one. Every method
returns the new event id; the caller tags incidents with it. The hottest path
(ordinary orders) is inlined in :mod:`engine.simulate.streams` instead, using
the same field layout.
"""
from __future__ import annotations

from typing import Any

import orjson

from engine.simulate.clock import TimeFormatter
from engine.simulate.ids import IdSource
from engine.simulate.merchants import Merchant, Sku, World
from engine.simulate.sink import Sink

SCHEMA_VER = "1.0"
dumps = orjson.dumps
#: Marker for "use the default" where ``None`` is a meaningful value.
DEFAULT = object()
#: Share of registered merchants whose licence display (亮照亮证) the platform does not report (null).
LICENCE_UNKNOWN_SHARE = 0.12


def line_of(doc: dict[str, Any]) -> bytes:
    """``doc`` as one JSONL line.

    ``dumps(doc) + b"\\n"`` rather than ``OPT_APPEND_NEWLINE``: orjson returns
    bytes objects that keep a ~4 KiB buffer, and an hour of pending lines
    would then take ~10× its size in memory; the concatenation makes an
    exact-size copy.
    """
    return dumps(doc) + b"\n"


class Emitter:
    """Builds event lines with the run's clock, ids, platform name and sink."""

    def __init__(self, *, world: World, fmt: TimeFormatter, ids: IdSource, sink: Sink, platform: str) -> None:
        self.world = world
        self.fmt = fmt
        self.ids = ids
        self.sink = sink
        self.platform = platform
        self.evidence_host = f"https://item.{platform}.example.cn"
        #: Per merchant: ``licence_info_displayed`` of its listings (True, or None = unknown).
        self.licence_shown: list[bool | None] = [True] * len(world.merchants)

    def _envelope(self, etype: str, m: Merchant, occ: int) -> tuple[dict[str, Any], str, int]:
        eid = self.ids.next()
        delay = self.sink.delay()
        recv = occ + delay
        occ_s = self.fmt(occ)
        return (
            {
                "event_type": etype,
                "event_id": eid,
                "schema_ver": SCHEMA_VER,
                "platform": self.platform,
                "occurred_at": occ_s,
                "received_at": self.fmt(recv) if delay else occ_s,
                "merchant": m.envelope,
            },
            eid,
            recv,
        )

    def push(self, doc: dict[str, Any], recv: int, protected: bool) -> None:
        """Serialise ``doc`` and file it."""
        self.sink.push(recv, doc["event_type"], line_of(doc), protected)

    # -- listing --------------------------------------------------------------

    def listing(
        self,
        sku: Sku,
        occ: int,
        change_type: str = "snapshot",
        *,
        price: float,
        ref: float | None = None,
        label: str | None = None,
        note: str | None = None,
        promo: dict | None = None,
        title: str | None = None,
        subtitle: str | None = None,
        detail: str | None = None,
        protected: bool = False,
        licences: list[dict] | None = None,
        licence_shown: object = DEFAULT,
        patent: list[str] | None = None,
        feed: float | None = None,
        coupon: float | None = None,
        member: float | None = None,
        sales_extra: int = 0,
    ) -> str:
        """A listing snapshot / price update of ``sku`` as shown at ``occ``.

        ``licences`` replaces the SKU's licences (``[]`` shows none); ``licence_shown``
        the merchant's ``licence_info_displayed``; ``feed`` the list-page price (default:
        the display price); ``sales_extra`` is added to the displayed sales count.
        """
        m = self.world.merchants[sku.merchant]
        doc, eid, recv = self._envelope("listing", m, occ)
        sold = int(self.world.sales[sku.g])
        doc["evidence"] = {"url": f"{self.evidence_host}/{sku.listing_id}"}
        doc["listing_id"] = sku.listing_id
        doc["sku_id"] = sku.sku_id
        doc["change_type"] = change_type
        doc["title"] = sku.title if title is None else title
        doc["subtitle"] = sku.subtitle if subtitle is None else subtitle
        doc["detail_text"] = sku.detail if detail is None else detail
        doc["category_std"] = sku.category
        doc["category_platform"] = sku.platform_cat
        doc["brand"] = sku.brand
        if patent:
            doc["patent_no"] = patent
        lic = sku.licences if licences is None else licences
        if lic:
            doc["licences"] = lic
        shown = self.licence_shown[sku.merchant] if licence_shown is DEFAULT else licence_shown
        if shown is not None:
            doc["licence_info_displayed"] = shown
        doc["display_price"] = price
        doc["feed_price"] = price if feed is None else feed
        if ref is not None:
            doc["ref_price"] = ref
            doc["ref_price_label"] = label
            if note:
                doc["ref_price_note"] = note
        if promo is not None:
            doc["promo"] = promo
        if coupon is not None:
            doc["coupon_price"] = coupon
        if member is not None:
            doc["member_price"] = member
        doc["sales_count_displayed"] = sku.sales_base + sold + sales_extra
        doc["review_count"] = sku.reviews_base + sold // 6
        doc["stock_displayed"] = max(0, sku.stock - sold % max(1, sku.stock))
        self.push(doc, recv, protected)
        return eid

    # -- order ----------------------------------------------------------------

    def order(
        self,
        sku: Sku,
        occ: int,
        *,
        order_id: str,
        list_price: float,
        paid: float,
        qty: int,
        status: str,
        paid_at: int,
        buyer: str,
        device: str,
        addr: str,
        refund_at: int | None = None,
        subsidy: float = 0.0,
        session_id: str | None = None,
        protected: bool = False,
    ) -> str:
        """One order line (paid, or its later cancellation / refund)."""
        m = self.world.merchants[sku.merchant]
        doc, eid, recv = self._envelope("order", m, occ)
        doc["order_id_hash"] = order_id
        doc["listing_id"] = sku.listing_id
        doc["sku_id"] = sku.sku_id
        doc["unit_list_price"] = list_price
        doc["unit_paid_price"] = paid
        doc["platform_subsidy"] = subsidy
        doc["qty"] = qty
        doc["status"] = status
        doc["paid_at"] = self.fmt(paid_at)
        if refund_at is not None:
            doc["refund_at"] = self.fmt(refund_at)
        doc["buyer_hash"] = buyer
        doc["device_hash"] = device
        doc["addr_hash"] = addr
        if session_id is not None:
            doc["live_session_id"] = session_id
        self.push(doc, recv, protected)
        return eid

    # -- livestream -------------------------------------------------------------

    def live_metrics(self, m: Merchant, occ: int, body: dict[str, Any], protected: bool = False) -> str:
        """One periodic metrics record; ``body`` holds the LiveMetrics fields."""
        doc, eid, recv = self._envelope("live_metrics", m, occ)
        doc.update(body)
        self.push(doc, recv, protected)
        return eid

    def live_utterance(self, m: Merchant, occ: int, body: dict[str, Any], protected: bool = False) -> str:
        """One ASR segment; ``body`` holds the LiveUtterance fields."""
        doc, eid, recv = self._envelope("live_utterance", m, occ)
        doc.update(body)
        self.push(doc, recv, protected)
        return eid

    # -- complaint --------------------------------------------------------------

    def complaint(self, m: Merchant, occ: int, body: dict[str, Any], protected: bool = False) -> str:
        """One complaint against ``m``; ``body`` holds the Complaint fields."""
        doc, eid, recv = self._envelope("complaint", m, occ)
        doc.update(body)
        self.push(doc, recv, protected)
        return eid
