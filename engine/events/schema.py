"""Event schema, version 1: what a platform sends to hongdun.

Every event is one JSON object with a common envelope (who, when, which
merchant) and the fields of its ``event_type``. The classes here are the single
source of truth: the decoder validates against them in the same pass that
parses the JSON (msgspec), ``hongdun schema`` prints them as JSON Schema, and
rule conditions may only read the fields declared here.

Events are immutable and hold no references back to themselves, so their
structs are not tracked by the cyclic garbage collector (``gc=False``): a
batch of a thousand events then costs the collector nothing.

Money is in yuan (CNY) as a decimal number; times are RFC 3339 with an offset;
region codes are 6-digit 行政区划代码; hashes are opaque strings chosen by the
platform (hongdun never needs personal data in clear).
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal, Union

import msgspec

SCHEMA_MAJOR = 1
SCHEMA_VERSION = "1.0"

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=128, description="opaque identifier")]
ShortText = Annotated[str, msgspec.Meta(max_length=512)]
LongText = Annotated[str, msgspec.Meta(max_length=20_000)]
# Patterns use [0-9], not \d (Python's \d also matches full-width and other
# Unicode digits), and fixed lengths stop a trailing "\n" slipping past ``$``.
# The region code and schema version patterns are published in the JSON Schema
# but checked by the decoder (engine.events.decode), against a cache of codes
# already seen: msgspec runs a pattern through Python's re on every event, which
# cost a third of decoding (three patterns per event), and codes repeat.
REGION_CODE_PATTERN = r"^[1-9][0-9]{5}$"
SCHEMA_VER_PATTERN = r"^1\.[0-9]+$"
RegionCode = Annotated[
    str,
    msgspec.Meta(
        min_length=6,
        max_length=6,
        extra_json_schema={"pattern": REGION_CODE_PATTERN},
        description="6-digit administrative region code (行政区划代码)",
    ),
]
Yuan = Annotated[float, msgspec.Meta(ge=0, le=1e9, description="amount in yuan (CNY)")]
Count = Annotated[int, msgspec.Meta(ge=0, le=10**12)]
Share = Annotated[float, msgspec.Meta(ge=0, le=1, description="fraction between 0 and 1")]
AwareDateTime = Annotated[datetime, msgspec.Meta(tz=True, description="RFC 3339 time with offset")]

# 18 characters per GB 32100-2015. The decoder checks the character set and
# the check digit itself (engine.events.uscc, cached per code), so the pattern
# is published in the JSON Schema but not run by msgspec: a regex call here
# would cost ~0.4 µs per event and repeat that check.
Uscc = Annotated[
    str,
    msgspec.Meta(
        min_length=18,
        max_length=18,
        extra_json_schema={"pattern": r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"},
        description="统一社会信用代码 (unified social credit code, 18 chars, GB 32100-2015; check digit verified)",
    ),
]

CategoryStd = Literal[
    "食品",
    "保健食品",
    "婴幼儿配方食品",
    "特殊医学用途配方食品",
    "食用农产品",
    "药品",
    "医疗器械",
    "化妆品",
    "服装鞋帽",
    "数码家电",
    "家居日用",
    "母婴用品",
    "教育培训",
    "其他",
]
ProblemCategory = Literal[
    "质量",
    "售后服务",
    "合同",
    "价格",
    "虚假宣传",
    "广告",
    "食品安全",
    "安全",
    "计量",
    "假冒",
    "人格尊严",
    "不正当竞争",
    "其他",
]


class Merchant(msgspec.Struct, frozen=True, kw_only=True, gc=False, forbid_unknown_fields=False):
    """The merchant (经营者) an event is about; for a complaint, the respondent."""

    merchant_id: Id
    uscc: Uscc | None = None
    name: ShortText = ""
    is_natural_person: bool = False
    reg_region_code: RegionCode
    op_region_code: RegionCode
    op_address: ShortText = ""


class EvidenceRef(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Where the platform keeps the original page or media for this event."""

    url: ShortText = ""
    snapshot_uri: ShortText = ""
    sha256: Annotated[str, msgspec.Meta(min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$")] | None = None


class Envelope(msgspec.Struct, frozen=True, kw_only=True, tag_field="event_type", gc=False):
    """Fields every event carries. ``event_type`` selects the body."""

    event_id: Id
    schema_ver: Annotated[str, msgspec.Meta(extra_json_schema={"pattern": SCHEMA_VER_PATTERN}, description="schema version, 1.x")]
    platform: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    occurred_at: AwareDateTime
    received_at: AwareDateTime | None = None
    merchant: Merchant
    evidence: EvidenceRef | None = None


class Licence(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A licence or filing shown for a listing (食品经营许可证, 医疗器械备案, 保健食品注册号 …)."""

    type: ShortText
    no: ShortText
    scope: ShortText = ""
    valid_to: date | None = None


class Promotion(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A promotion attached to a listing."""

    promo_id: Id
    type: ShortText = ""
    start_at: AwareDateTime | None = None
    end_at: AwareDateTime | None = None
    countdown_reset_cnt: Count = 0
    conditions: ShortText = ""
    claimed_discount: Annotated[float, msgspec.Meta(gt=0, le=1)] | None = None


class Listing(Envelope, tag="listing", kw_only=True):
    """A listing/SKU snapshot or price update as shown to consumers."""

    listing_id: Id
    sku_id: Id
    change_type: Literal["snapshot", "price_update", "new", "delist"] = "snapshot"
    title: ShortText
    subtitle: ShortText = ""
    detail_text: LongText = ""
    ocr_text: LongText = ""
    category_std: CategoryStd
    category_platform: ShortText = ""
    brand: ShortText = ""
    trademark_no: ShortText | None = None
    patent_no: list[ShortText] = []
    licences: list[Licence] = []
    licence_info_displayed: bool | None = None
    display_price: Yuan
    feed_price: Yuan | None = None
    ref_price: Yuan | None = None
    ref_price_label: ShortText | None = None
    ref_price_note: ShortText | None = None
    promo: Promotion | None = None
    coupon_price: Yuan | None = None
    member_price: Yuan | None = None
    sales_count_displayed: Count | None = None
    review_count: Count | None = None
    stock_displayed: Count | None = None


class Order(Envelope, tag="order", kw_only=True):
    """One paid order line (or its later cancellation/refund) for a SKU."""

    order_id_hash: Id
    listing_id: Id | None = None
    sku_id: Id
    unit_list_price: Yuan | None = None
    unit_paid_price: Yuan
    platform_subsidy: Yuan = 0.0
    qty: Annotated[int, msgspec.Meta(ge=1, le=100_000)]
    status: Literal["paid", "cancelled", "refunded"]
    paid_at: AwareDateTime | None = None
    refund_at: AwareDateTime | None = None
    buyer_hash: ShortText = ""
    device_hash: ShortText = ""
    addr_hash: ShortText = ""
    live_session_id: Id | None = None


class DwellHistogram(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Viewers who left in the period, by how long they stayed."""

    lt_3s: Count = 0
    s3_30s: Count = 0
    s30_180s: Count = 0
    gt_180s: Count = 0


class TrafficSources(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Share of entries by source in the period (sums to about 1)."""

    recommend: Share = 0.0
    follow: Share = 0.0
    paid: Share = 0.0
    search: Share = 0.0
    other: Share = 0.0


class LiveMetrics(Envelope, tag="live_metrics", kw_only=True):
    """Periodic (usually 60 s) metrics of one livestream room."""

    room_id: Id
    session_id: Id
    period_s: Annotated[int, msgspec.Meta(ge=1, le=3600)] = 60
    online_displayed: Count
    online_measured: Count
    enter_uv: Count = 0
    leave_uv: Count = 0
    avg_watch_s: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    dwell_hist: DwellHistogram = DwellHistogram()
    comment_cnt: Count = 0
    comment_uv: Count = 0
    like_cnt: Count = 0
    share_cnt: Count = 0
    new_follow: Count = 0
    orders: Count = 0
    gmv: Yuan = 0.0
    refunds: Count = 0
    traffic_sources: TrafficSources = TrafficSources()
    new_acct_ratio: Share | None = None
    top_ip24_share: Share | None = None
    top_device_model_share: Share | None = None
    is_ai_avatar: bool = False
    ai_label_visible: bool | None = None
    current_item_id: Id | None = None
    link_price: Yuan | None = None
    stock_displayed: Count | None = None


class LiveUtterance(Envelope, tag="live_utterance", kw_only=True):
    """A segment of host speech, transcribed by the platform's ASR."""

    room_id: Id
    session_id: Id
    duration_s: Annotated[float, msgspec.Meta(ge=0, le=600)] = 0.0
    speaker: Literal["host", "guest", "assistant", "ai_avatar", "unknown"] = "host"
    asr_text: LongText
    asr_conf: Share
    ocr_text: LongText = ""
    current_item_id: Id | None = None
    current_item_price: Yuan | None = None
    price_mentions: list[Yuan] = []


class Complaint(Envelope, tag="complaint", kw_only=True):
    """A 12315-style complaint/report; ``merchant`` is the respondent."""

    complaint_id: Id
    kind: Literal["投诉", "举报", "咨询"] = "投诉"
    channel: Literal["app", "pc", "mini_program", "phone", "letter", "platform"] = "app"
    complainant_hash: Id
    complainant_region_code: RegionCode | None = None
    order_ref: ShortText | None = None
    amount: Yuan | None = None
    purchase_mode: Literal["网购", "直播", "社交电商", "其他"] = "网购"
    problem_cat: ProblemCategory
    goods_cat: ShortText = ""
    demand: ShortText = ""
    text: LongText = ""
    is_joint: bool = False
    live_session_id: Id | None = None


EVENT_CLASSES: dict[str, type[Envelope]] = {
    "listing": Listing,
    "order": Order,
    "live_metrics": LiveMetrics,
    "live_utterance": LiveUtterance,
    "complaint": Complaint,
}
Event = Union[Listing, Order, LiveMetrics, LiveUtterance, Complaint]
EVENT_TYPES: tuple[str, ...] = tuple(EVENT_CLASSES)

# Free-text fields of each type: normalised once per event before keyword
# matching; the virtual field ``text`` joins them.
TEXT_FIELDS: dict[str, tuple[str, ...]] = {
    "listing": ("title", "subtitle", "detail_text", "ocr_text"),
    "order": (),
    "live_metrics": (),
    "live_utterance": ("asr_text", "ocr_text"),
    "complaint": ("text",),
}


def event_type_of(event: Envelope) -> str:
    """The ``event_type`` tag of a decoded event."""
    return type(event).__struct_config__.tag  # type: ignore[return-value]
