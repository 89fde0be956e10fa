"""JSON Schema (draft 2020-12) of the v1 events, for platforms that validate before sending.

Generated from :mod:`engine.events.schema` by msgspec, so it cannot disagree
with the decoder on types, ranges, lengths or enums. :data:`FIELD_NOTES` adds
what msgspec cannot know: the meaning and unit of each field. The same notes
feed docs/events.md, and a test fails when a field lacks a note.

Two rules the decoder enforces are beyond JSON Schema and only described: the
USCC check character, and "unsupported major version" as its own reason.
"""
from __future__ import annotations

from typing import Any

import msgspec

from engine.events.schema import SCHEMA_VERSION, Event

__all__ = ["SCHEMA_ID", "FIELD_NOTES", "json_schema"]

SCHEMA_ID = "https://hongdun.dev/schema/events/v1.json"
_DRAFT = "https://json-schema.org/draft/2020-12/schema"

_LIVE_ROOM = {
    "room_id": "Live room id (直播间).",
    "session_id": "One broadcast of the room (直播场次).",
}

#: Meaning / unit of every field, by struct name then field name (English, Chinese terms in brackets).
FIELD_NOTES: dict[str, dict[str, str]] = {
    "Envelope": {
        "event_type": "Which body follows: `listing`, `order`, `live_metrics`, `live_utterance` or `complaint`.",
        "event_id": "Unique id of the event at the platform; a resent event keeps its id.",
        "schema_ver": "Schema version the producer wrote against, `1.<minor>`.",
        "platform": "Code of the sending platform, stable over time (e.g. `demo-mall`).",
        "occurred_at": "When it happened at the platform (event time).",
        "received_at": "When the platform's pipeline emitted it; for lag diagnostics.",
        "merchant": "The merchant (经营者) concerned; for a complaint, the respondent (被投诉人).",
        "evidence": "Where the platform keeps the original page or media (证据留存).",
    },
    "Merchant": {
        "merchant_id": "Platform's merchant/shop id. Also the Kafka message key.",
        "uscc": "统一社会信用代码 as on the business licence (营业执照); check character verified. "
        "Null when the merchant has none (some natural persons).",
        "name": "Registered name (主体名称), or shop name if not registered.",
        "is_natural_person": "True for an individual seller (自然人网店) without business registration.",
        "reg_region_code": "Region of the registration authority (登记地), 6 digits; decides jurisdiction (管辖).",
        "op_region_code": "Region where the merchant actually operates (实际经营地), 6 digits.",
        "op_address": "Operating address as declared to the platform.",
    },
    "EvidenceRef": {
        "url": "Public URL of the page as consumers see it.",
        "snapshot_uri": "Where the platform stored its snapshot (e.g. an object-store URI).",
        "sha256": "SHA-256 of the snapshot, 64 lowercase hex digits (固证).",
    },
    "Licence": {
        "type": "Kind of licence or filing, e.g. 食品经营许可证, 医疗器械备案, 保健食品注册号.",
        "no": "Number as displayed.",
        "scope": "Licensed scope (许可范围/经营项目).",
        "valid_to": "Expiry date (有效期至), `YYYY-MM-DD`.",
    },
    "Promotion": {
        "promo_id": "Platform id of the promotion.",
        "type": "Kind as shown, e.g. 限时折扣, 满减, 秒杀.",
        "start_at": "Announced start.",
        "end_at": "Announced end.",
        "countdown_reset_cnt": "Times the countdown (倒计时) has restarted so far; "
        "repeated resets suggest a fake deadline.",
        "conditions": "Conditions as shown (门槛, 限购 …).",
        "claimed_discount": "Claimed price ratio, e.g. `0.62` for 6.2折.",
    },
    "Listing": {
        "listing_id": "Platform's listing (商品链接) id.",
        "sku_id": "SKU id within the listing.",
        "change_type": "`snapshot` (full state), `price_update`, `new` (first publication) or `delist` (taken down).",
        "title": "Title as shown (商品标题).",
        "subtitle": "Subtitle / selling points as shown.",
        "detail_text": "Text of the detail page (商品详情).",
        "ocr_text": "Text recognised in the listing's images (OCR).",
        "category_std": "hongdun standard category, mapped by the platform from its own category tree.",
        "category_platform": "The platform's own category path.",
        "brand": "Brand as shown.",
        "trademark_no": "Registered trademark number claimed on the page (注册商标号).",
        "patent_no": "Patent numbers claimed on the page (专利号).",
        "licences": "Licences and filings displayed on the page.",
        "licence_info_displayed": "Whether the page shows licence information (亮照亮证); null if unknown.",
        "display_price": "Price shown to the consumer, yuan.",
        "feed_price": "Price shown in lists/search results (列表页价), yuan, when the platform knows it.",
        "ref_price": "Reference price shown next to it (划线价/原价), yuan.",
        "ref_price_label": "Label of the reference price as shown, e.g. 划线价, 原价, 专柜价.",
        "ref_price_note": "Explanation of the reference price as shown (价格说明).",
        "promo": "The promotion running on the listing, if any.",
        "coupon_price": "Price after the best coupon shown (券后价), yuan.",
        "member_price": "Member price (会员价), yuan.",
        "sales_count_displayed": "Sales count as shown (已售 N 件); may differ from real orders.",
        "review_count": "Number of reviews as shown.",
        "stock_displayed": "Stock as shown (库存/仅剩 N 件).",
    },
    "Order": {
        "order_id_hash": "Hash of the platform's order-line id; the same for the paid and later refund events.",
        "listing_id": "Listing the SKU was bought from.",
        "sku_id": "SKU bought.",
        "unit_list_price": "List price per unit at the time of purchase, yuan.",
        "unit_paid_price": "Price paid per unit after all discounts, yuan.",
        "platform_subsidy": "Part of the discount funded by the platform (平台补贴) for this order line, yuan.",
        "qty": "Units bought.",
        "status": "`paid`; a later event with the same `order_id_hash` reports `cancelled` or `refunded`.",
        "paid_at": "Payment time.",
        "refund_at": "Refund time, for `refunded`.",
        "buyer_hash": "Salted hash of the buyer account (never the account in clear).",
        "device_hash": "Salted hash of the buyer's device; clusters hint at brushing (刷单).",
        "addr_hash": "Salted hash of the delivery address.",
        "live_session_id": "Live session the order came from, if bought in a livestream.",
    },
    "DwellHistogram": {
        "lt_3s": "Viewers who left after less than 3 s.",
        "s3_30s": "Viewers who left after 3–30 s.",
        "s30_180s": "Viewers who left after 30–180 s.",
        "gt_180s": "Viewers who left after more than 180 s.",
    },
    "TrafficSources": {
        "recommend": "Share from the recommendation feed (推荐).",
        "follow": "Share from followers (关注).",
        "paid": "Share from paid promotion (付费投流).",
        "search": "Share from search.",
        "other": "Share from anything else.",
    },
    "LiveMetrics": {
        **_LIVE_ROOM,
        "period_s": "Length of the period these counts cover, seconds.",
        "online_displayed": "Concurrent viewers shown on screen (显示在线人数) at the end of the period.",
        "online_measured": "Concurrent viewers the platform measured at the same moment.",
        "enter_uv": "Distinct viewers who entered in the period.",
        "leave_uv": "Distinct viewers who left in the period.",
        "avg_watch_s": "Average watch time of viewers in the period, seconds.",
        "dwell_hist": "Leavers in the period by how long they stayed.",
        "comment_cnt": "Comments (评论) in the period.",
        "comment_uv": "Distinct commenters in the period.",
        "like_cnt": "Likes in the period.",
        "share_cnt": "Shares in the period.",
        "new_follow": "New followers in the period.",
        "orders": "Orders placed from the room in the period.",
        "gmv": "Value of those orders, yuan.",
        "refunds": "Refunds of the room's orders in the period.",
        "traffic_sources": "Where entering viewers came from.",
        "new_acct_ratio": "Share of viewers on recently created accounts (platform's definition).",
        "top_ip24_share": "Share of viewers from the single most common /24 IP block; "
        "high values suggest bought traffic (刷量).",
        "top_device_model_share": "Share of viewers on the single most common device model.",
        "is_ai_avatar": "The host is an AI avatar / digital human (数字人).",
        "ai_label_visible": "Whether an AI-generated label (AI 生成标识) is visible; null if unknown.",
        "current_item_id": "Item being presented (讲解中商品).",
        "link_price": "Price of that item's shopping link, yuan.",
        "stock_displayed": "Stock shown for that item.",
    },
    "LiveUtterance": {
        **_LIVE_ROOM,
        "duration_s": "Length of the speech segment, seconds.",
        "speaker": "Who spoke, as far as the platform can tell.",
        "asr_text": "Transcript of the segment (语音转写).",
        "asr_conf": "ASR confidence, 0–1.",
        "ocr_text": "Text on screen during the segment (stickers, captions), by OCR.",
        "current_item_id": "Item being presented during the segment.",
        "current_item_price": "Its link price at the time, yuan.",
        "price_mentions": "Prices (yuan) the platform extracted from the speech, in spoken order.",
    },
    "Complaint": {
        "complaint_id": "Complaint/report number (登记编号).",
        "kind": "投诉 (complaint, a consumer dispute), 举报 (report of a violation) or 咨询 (enquiry).",
        "channel": "How it was filed.",
        "complainant_hash": "Salted hash of the complainant's identity.",
        "complainant_region_code": "Complainant's region, 6 digits; for cross-region referral (跨区域协查).",
        "order_ref": "Order reference given by the complainant (may be an `order_id_hash`).",
        "amount": "Amount involved (涉案金额), yuan.",
        "purchase_mode": "How the goods were bought (购物方式).",
        "problem_cat": "Problem category (问题类别).",
        "goods_cat": "Goods category as filed.",
        "demand": "What the complainant asks for (诉求).",
        "text": "Complaint text (投诉内容).",
        "is_joint": "Part of a joint complaint (集体投诉).",
        "live_session_id": "Live session concerned, if any.",
    },
}


def json_schema() -> dict[str, Any]:
    """The JSON Schema of one v1 event (any type), with ``$id``, title and field descriptions."""
    body = msgspec.json.schema(Event)
    for name, definition in body["$defs"].items():
        notes = FIELD_NOTES[name]
        if "event_type" in definition["properties"]:  # an event type: envelope fields are inlined
            notes = {**FIELD_NOTES["Envelope"], **notes}
        for field, prop in definition["properties"].items():
            if field in notes:
                prop["description"] = notes[field]
    return {
        "$schema": _DRAFT,
        "$id": SCHEMA_ID,
        "title": "hongdun (红盾) event, schema v1",
        "description": (
            f"One event sent by a platform to hongdun (schema {SCHEMA_VERSION}; any 1.x is accepted). "
            "`event_type` selects the body. Unknown fields are ignored; money is in yuan; times are "
            "RFC 3339 with an offset. Beyond this schema the decoder also verifies the GB 32100-2015 "
            "check character of `merchant.uscc`. Kafka messages are keyed by `merchant.merchant_id`."
        ),
        **body,
    }
