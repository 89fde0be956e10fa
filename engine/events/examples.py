"""One realistic, valid example event per type, and helpers to build variants.

The examples are documentation (docs/events.md shows them), test fixtures
(each must decode) and the base of rule-pack examples: a rule test writes only
the fields it cares about and :func:`deep_merge` lays them over
:func:`default_event`, so rule packs stay short and keep working when the
schema gains optional fields.

The examples are meant to be unremarkable, ordinary business: a rule example
for a violation patches the violating fields in, and one that expects no alert
can use the base as is. Merchants are fictional; their USCCs carry a correct
GB 32100-2015 check character so they pass the decoder.
"""
from __future__ import annotations

import copy
from typing import Any

from engine.events.schema import EVENT_TYPES

__all__ = ["EXAMPLES", "default_event", "deep_merge"]

_HANGZHOU_TEA = {
    "merchant_id": "m-330106-000172",
    "uscc": "91330106MA2H3K7PX5",
    "name": "杭州西子茗茶有限公司",
    "is_natural_person": False,
    "reg_region_code": "330106",
    "op_region_code": "330106",
    "op_address": "浙江省杭州市西湖区文三路 90 号 5 楼",
}
_SHENZHEN_DIGITAL = {
    "merchant_id": "m-440305-003318",
    "uscc": "91440305MA5G7T3N8L",
    "name": "深圳市南山区极光数码科技有限公司",
    "is_natural_person": False,
    "reg_region_code": "440305",
    "op_region_code": "440305",
    "op_address": "广东省深圳市南山区科技园南区 R2-B 栋 3 层",
}
_HANGZHOU_BEAUTY_LIVE = {
    "merchant_id": "m-330106-008841",
    "uscc": "92330106MA2J0B1C5U",
    "name": "杭州市西湖区美颜日化商行",
    "is_natural_person": False,
    "reg_region_code": "330106",
    "op_region_code": "330106",
    "op_address": "浙江省杭州市西湖区古墩路 702 号直播基地 2-118",
}

EXAMPLES: dict[str, dict[str, Any]] = {
    "listing": {
        "event_type": "listing",
        "event_id": "evt-lst-20250612-0000481",
        "schema_ver": "1.0",
        "platform": "demo-mall",
        "occurred_at": "2025-06-12T09:30:00+08:00",
        "received_at": "2025-06-12T09:30:02+08:00",
        "merchant": {**_HANGZHOU_TEA},
        "evidence": {
            "url": "https://mall.example.com/item/70012345",
            "snapshot_uri": "s3://demo-mall-evidence/2025/06/12/70012345-093000.html",
        },
        "listing_id": "70012345",
        "sku_id": "70012345-250g",
        "change_type": "snapshot",
        "title": "2025 新茶 明前西湖龙井 特级 250g 礼盒装",
        "subtitle": "核心产区 手工炒制 顺丰包邮",
        "detail_text": "产地：浙江杭州西湖区；净含量：250 克；保质期：18 个月；贮存条件：密封、避光、防潮。",
        "category_std": "食品",
        "category_platform": "茶叶/绿茶/龙井",
        "brand": "西子茗茶",
        "licences": [
            {
                "type": "食品经营许可证",
                "no": "JY13301060038271",
                "scope": "预包装食品（含冷藏冷冻食品）销售",
                "valid_to": "2027-08-31",
            }
        ],
        "licence_info_displayed": True,
        "display_price": 368.0,
        "ref_price": 598.0,
        "ref_price_label": "划线价",
        "ref_price_note": "划线价为商品的专柜价、吊牌价或曾经展示过的销售价，仅供参考",
        "promo": {
            "promo_id": "promo-618-0032",
            "type": "限时折扣",
            "start_at": "2025-06-10T00:00:00+08:00",
            "end_at": "2025-06-18T23:59:59+08:00",
            "countdown_reset_cnt": 0,
            "conditions": "每人限购 2 件",
            "claimed_discount": 0.62,
        },
        "coupon_price": 338.0,
        "sales_count_displayed": 1862,
        "review_count": 413,
        "stock_displayed": 250,
    },
    "order": {
        "event_type": "order",
        "event_id": "evt-ord-20250612-1029384",
        "schema_ver": "1.0",
        "platform": "demo-mall",
        "occurred_at": "2025-06-12T20:41:17+08:00",
        "received_at": "2025-06-12T20:41:18+08:00",
        "merchant": {**_SHENZHEN_DIGITAL},
        "order_id_hash": "oh_5f2c9a81d04e",
        "listing_id": "80098812",
        "sku_id": "80098812-black-128g",
        "unit_list_price": 1299.0,
        "unit_paid_price": 1049.0,
        "platform_subsidy": 100.0,
        "qty": 1,
        "status": "paid",
        "paid_at": "2025-06-12T20:41:15+08:00",
        "buyer_hash": "bh_9a7d3e11",
        "device_hash": "dh_41c0b7aa",
        "addr_hash": "ah_0e58f2d3",
    },
    "live_metrics": {
        "event_type": "live_metrics",
        "event_id": "evt-lm-20250612-r8841-1254",
        "schema_ver": "1.0",
        "platform": "demo-live",
        "occurred_at": "2025-06-12T20:15:00+08:00",
        "merchant": {**_HANGZHOU_BEAUTY_LIVE},
        "room_id": "room-8841",
        "session_id": "sess-8841-20250612-2000",
        "period_s": 60,
        "online_displayed": 3260,
        "online_measured": 3150,
        "enter_uv": 2240,
        "leave_uv": 2105,
        "avg_watch_s": 74.5,
        "dwell_hist": {"lt_3s": 880, "s3_30s": 710, "s30_180s": 390, "gt_180s": 125},
        "comment_cnt": 562,
        "comment_uv": 318,
        "like_cnt": 9120,
        "share_cnt": 41,
        "new_follow": 87,
        "orders": 136,
        "gmv": 8024.0,
        "refunds": 3,
        "traffic_sources": {"recommend": 0.58, "follow": 0.17, "paid": 0.19, "search": 0.04, "other": 0.02},
        "new_acct_ratio": 0.08,
        "top_ip24_share": 0.03,
        "top_device_model_share": 0.11,
        "is_ai_avatar": False,
        "current_item_id": "item-mask-0612",
        "link_price": 59.0,
        "stock_displayed": 100,
    },
    "live_utterance": {
        "event_type": "live_utterance",
        "event_id": "evt-lu-20250612-r8841-000937",
        "schema_ver": "1.0",
        "platform": "demo-live",
        "occurred_at": "2025-06-12T20:15:42+08:00",
        "merchant": {**_HANGZHOU_BEAUTY_LIVE},
        "room_id": "room-8841",
        "session_id": "sess-8841-20250612-2000",
        "duration_s": 14.2,
        "speaker": "host",
        "asr_text": "家人们看过来，这款玻尿酸补水面膜一盒十片，今天直播间到手价五十九元，拍一发一，支持七天无理由退货。",
        "asr_conf": 0.93,
        "ocr_text": "直播间专享 59 元 / 盒",
        "current_item_id": "item-mask-0612",
        "current_item_price": 59.0,
        "price_mentions": [59.0],
    },
    "complaint": {
        "event_type": "complaint",
        "event_id": "evt-cmp-20250613-000215",
        "schema_ver": "1.0",
        "platform": "demo-live",
        "occurred_at": "2025-06-13T10:02:11+08:00",
        "merchant": {**_HANGZHOU_BEAUTY_LIVE},
        "complaint_id": "C3301062025061300215",
        "kind": "投诉",
        "channel": "platform",
        "complainant_hash": "ch_7b1e04c9",
        "complainant_region_code": "440305",
        "order_ref": "oh_c1d8e2aa93f0",
        "amount": 118.0,
        "purchase_mode": "直播",
        "problem_cat": "虚假宣传",
        "goods_cat": "化妆品/面膜",
        "demand": "退货退款并赔偿",
        "text": "6 月 12 日晚在该直播间购买面膜两盒，主播称专柜价 199 元，实际查询无此专柜价；收到货后包装无中文标签，要求退货被拒。",
        "is_joint": False,
        "live_session_id": "sess-8841-20250612-2000",
    },
}

if set(EXAMPLES) != set(EVENT_TYPES):  # pragma: no cover - guards edits to either module
    raise RuntimeError("EXAMPLES must have exactly one example per event type")


def default_event(event_type: str) -> dict[str, Any]:
    """A fresh deep copy of the example for ``event_type``; safe to mutate."""
    try:
        return copy.deepcopy(EXAMPLES[event_type])
    except KeyError:
        raise ValueError(f"unknown event_type {event_type!r}; known: {', '.join(EVENT_TYPES)}") from None


def deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """A new dict: ``base`` overlaid with ``patch``. Neither input is modified.

    Where both sides hold a dict the two are merged recursively; otherwise the
    patch value wins as is, so lists are replaced (not appended) and an
    explicit ``None`` sets the field to JSON ``null``.
    """
    merged = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged
