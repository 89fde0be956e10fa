"""The simulated district: merchants, their SKUs and their business volumes.

Built once per run from the seed. Per-merchant numbers that the hot loops
need (order rate, complaint propensity, SKU ranges, current prices) are numpy
arrays indexed by merchant or global SKU index; texts are plain Python lists.
The merchant envelope is serialised once to an ``orjson.Fragment`` and
reused by every event of that merchant.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np
import orjson

from engine.events.uscc import make_uscc
from engine.simulate import catalog
from engine.simulate.catalog import CATEGORIES, CATEGORY_BY_STD, Category, Product, Region

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

#: Mean paid orders per merchant-hour before category scaling (heavy-tailed).
MEAN_ORDERS_PER_HOUR = 8.0
ORDER_SIGMA = 1.3
#: Median complaints per paid order.
COMPLAINT_PER_ORDER = 1.2e-3
LIVE_SHARE = 0.10
NATURAL_PERSON_SHARE = 0.05
INDIVIDUAL_BUSINESS_SHARE = 0.08
HOME_SHARE = 0.75
#: Food shops that only sell pre-packaged food and show a 备案 instead of a 食品经营许可证.
PREPACK_ONLY_SHARE = 0.25


@dataclass(slots=True)
class Merchant:
    """One shop (平台内经营者) and the numbers that drive its traffic."""

    idx: int
    merchant_id: str
    name: str
    shop: str
    uscc: str | None
    natural: bool
    reg_region: str
    op_region: str
    address: str
    category: str
    categories: tuple[str, ...]
    brand: str
    live: bool
    room_id: str | None
    envelope: orjson.Fragment
    as_dict: dict
    sku0: int = 0
    sku1: int = 0


@dataclass(slots=True)
class Sku:
    """One SKU as its listing shows it (texts fixed; price lives in ``World.price``)."""

    g: int
    merchant: int
    listing_id: str
    sku_id: str
    category: str
    platform_cat: str
    product: Product
    title: str
    subtitle: str
    detail: str
    brand: str
    licences: list[dict]
    ref_ratio: float | None  # lawful reference price as a ratio of the base price
    ref_label: str | None
    ref_note: str | None
    base_price: float
    sales_base: int
    reviews_base: int
    stock: int
    point: str


@dataclass(slots=True)
class World:
    """All merchants and SKUs of one run plus the arrays used by the generators."""

    merchants: list[Merchant]
    skus: list[Sku]
    order_rate: np.ndarray  # per merchant, mean paid orders per hour
    complaint_p: np.ndarray  # per merchant, complaints per paid order
    sku_offset: np.ndarray  # per merchant, first global SKU index
    sku_count: np.ndarray  # per merchant, number of SKUs
    price: np.ndarray  # per SKU, current display price (changes with price updates)
    sales: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # per SKU, units sold in the run


def _org_code(rnd: random.Random) -> str:
    """A 9-character organisation code with its GB 11714 check character."""
    if rnd.random() < 0.7:
        body = "MA" + "".join(rnd.choice(_USCC_CHARS) for _ in range(6))
    else:
        body = "".join(rnd.choice("0123456789") for _ in range(8))
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body, _ORG_WEIGHTS))
    check = 11 - total % 11
    return body + ("X" if check == 10 else "0" if check == 11 else str(check))


def _region(rnd: random.Random) -> Region:
    if rnd.random() < HOME_SHARE:
        return catalog.pick_weighted(rnd, catalog.HOME_REGIONS)  # type: ignore[return-value]
    return catalog.pick_weighted(rnd, catalog.OTHER_REGIONS)  # type: ignore[return-value]


def _categories(rnd: random.Random) -> tuple[str, ...]:
    primary = catalog.pick_weighted(rnd, tuple((c.std, c.merchant_share) for c in CATEGORIES))
    extra: dict[str, tuple[str, ...]] = {
        "食品": ("食用农产品",), "食用农产品": ("食品",), "化妆品": ("家居日用",), "家居日用": ("母婴用品",),
        "药品": ("医疗器械", "保健食品"), "母婴用品": ("婴幼儿配方食品",), "保健食品": ("食品",),
    }
    if primary in extra and rnd.random() < 0.3:
        return (primary, rnd.choice(extra[primary]))  # type: ignore[return-value]
    return (primary,)  # type: ignore[return-value]


def _detail(rnd: random.Random, cat: Category, prod: Product) -> str:
    parts: list[str] = []
    if cat.std == "药品":
        parts.append(f"【适应症】{prod.indication}。")
    elif cat.std == "保健食品":
        parts.append(f"【保健功能】{prod.indication}。")
    elif cat.std in ("医疗器械", "婴幼儿配方食品"):
        parts.append(f"【适用范围】{prod.indication}。")
    a, b = rnd.sample(prod.points, k=2) if len(prod.points) > 1 else (prod.points[0], prod.noun)
    parts.append(f"{a}，{b}。")
    parts.extend(rnd.sample(cat.lines, k=min(len(cat.lines), rnd.randint(2, 3))))
    if rnd.random() < 0.35:
        parts.append(rnd.choice(cat.tips))
    if cat.std == "保健食品":
        parts.append("【注意事项】本品不能代替药物。")
    parts.append(rnd.choice(catalog.SHIPPING_LINES))
    return "".join(parts)


def _licences(rnd: random.Random, cat: Category, region: str, shop_licence: dict[str, str]) -> list[dict]:
    """The licence shown on a listing of ``cat``; one number per shop for shop-level licences.

    A food shop shows either a 食品经营许可证 or, if it only sells pre-packaged food
    (``PREPACK_ONLY_SHARE`` of food shops), the 仅销售预包装食品备案 that replaces it.
    """
    if not cat.licence:
        return []
    kind = cat.licence
    if kind == "食品经营许可证":
        if "_food" not in shop_licence:
            shop_licence["_food"] = "仅销售预包装食品备案" if rnd.random() < PREPACK_ONLY_SHARE else kind
        kind = shop_licence["_food"]
    if kind in ("食品经营许可证", "仅销售预包装食品备案", "药品网络销售备案") and kind in shop_licence:
        no = shop_licence[kind]
    else:
        no = catalog.licence_no(rnd, kind, region)
        shop_licence.setdefault(kind, no)
    lic = {"type": kind, "no": no}
    if kind == "食品经营许可证":
        lic["scope"] = "预包装食品（含冷藏冷冻食品）销售"
    elif kind == "仅销售预包装食品备案":
        lic["scope"] = "仅销售预包装食品"
    lic["valid_to"] = f"{rnd.randint(2027, 2030)}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"
    return [lic]


def build_world(n_merchants: int, rnd: random.Random, rng: np.random.Generator) -> World:
    """Create ``n_merchants`` merchants with SKUs, deterministic for the given streams."""
    numbers = rng.choice(999_999, size=n_merchants, replace=False) + 1
    listing_numbers = rng.choice(9 * 10**10, size=n_merchants * 48, replace=False) + 6 * 10**10
    rates = np.exp(rng.normal(np.log(MEAN_ORDERS_PER_HOUR) - ORDER_SIGMA**2 / 2, ORDER_SIGMA, n_merchants))
    cprop = np.exp(rng.normal(np.log(COMPLAINT_PER_ORDER), 0.5, n_merchants))
    merchants: list[Merchant] = []
    skus: list[Sku] = []
    prices: list[float] = []
    counts: list[int] = []
    offsets: list[int] = []
    next_listing = 0
    for i in range(n_merchants):
        cats = _categories(rnd)
        cat = CATEGORY_BY_STD[cats[0]]
        natural = rnd.random() < NATURAL_PERSON_SHARE and cat.std not in ("药品", "医疗器械", "保健食品")
        reg = _region(rnd)
        op = reg if rnd.random() < 0.92 else _region(rnd)
        zh = catalog.zihao(rnd)
        brand = catalog.brand_name(rnd)
        shop = catalog.shop_name(rnd, brand, cat.std, zh, natural)
        uscc: str | None = None
        if natural:
            name = shop
        elif rnd.random() < INDIVIDUAL_BUSINESS_SHARE:
            uscc = make_uscc("92" + reg.code + _org_code(rnd))
            name = f"{reg.province_city[3:] if reg.province_city.startswith('浙江省') else reg.province_city}{zh}商行"
        else:
            uscc = make_uscc("91" + reg.code + _org_code(rnd))
            name = catalog.company_name(rnd, reg.city_short, cat.std, zh)
        address = f"{op.province_city}{rnd.choice(op.streets)}{rnd.randint(1, 999)}号"
        if rnd.random() < 0.4:
            address += f"{rnd.randint(1, 12)}幢{rnd.randint(101, 1808)}室"
        mid = f"m-{op.code}-{int(numbers[i]):06d}"
        as_dict = {
            "merchant_id": mid,
            "uscc": uscc,
            "name": name,
            "is_natural_person": natural,
            "reg_region_code": reg.code,
            "op_region_code": op.code,
            "op_address": address,
        }
        if natural:
            rates[i] *= 0.5
            cprop[i] *= 1.5
        rates[i] *= cat.order_scale
        m = Merchant(
            idx=i, merchant_id=mid, name=name, shop=shop, uscc=uscc, natural=natural,
            reg_region=reg.code, op_region=op.code, address=address, category=cat.std, categories=cats,
            brand=brand, live=False, room_id=None, envelope=orjson.Fragment(orjson.dumps(as_dict)), as_dict=as_dict,
        )
        m.sku0 = len(skus)
        n_listings = 2 + min(int(rng.geometric(0.16)), 22)
        shop_licence: dict[str, str] = {}
        for _ in range(n_listings):
            std = cats[0] if len(cats) == 1 or rnd.random() < 0.7 else cats[1]
            c = CATEGORY_BY_STD[std]
            prod = rnd.choice(c.products)
            listing_id = str(int(listing_numbers[next_listing]))
            next_listing += 1
            tag = rnd.choice(catalog.TITLE_TAGS)
            points = rnd.sample(prod.points, k=min(2, len(prod.points)))
            subtitle = rnd.choice(catalog.SUBTITLES)
            detail = _detail(rnd, c, prod)
            licences = _licences(rnd, c, reg.code, shop_licence)
            base = rnd.uniform(*prod.price)
            has_ref = rnd.random() < 0.3
            ref_ratio = rnd.uniform(1.1, 1.6) if has_ref else None
            specs = rnd.sample(prod.specs, k=min(len(prod.specs), rnd.choice((1, 1, 1, 2, 3))))
            for k, spec in enumerate(specs):
                price = catalog.nice_price(base * (1 + 0.12 * k))
                title = f"{tag}{brand}{prod.noun} {spec} {' '.join(points)}"
                skus.append(Sku(
                    g=len(skus), merchant=i, listing_id=listing_id, sku_id=f"{listing_id}-{k + 1}",
                    category=c.std, platform_cat=f"{c.root}/{prod.sub}", product=prod, title=title[:120],
                    subtitle=subtitle, detail=detail, brand=brand, licences=licences,
                    ref_ratio=ref_ratio, ref_label=c.price_label if has_ref else None,
                    ref_note=(
                        "吊牌价为品牌方在商品吊牌上标注的零售价格，仅供参考" if has_ref and c.price_label == "吊牌价"
                        else "厂商建议零售价为生产厂商公布的建议零售价格" if has_ref else None
                    ),
                    base_price=price, sales_base=int(rng.lognormal(6, 1.5)), reviews_base=0,
                    stock=int(rng.integers(50, 5000)), point=rnd.choice(prod.points),
                ))
                skus[-1].reviews_base = skus[-1].sales_base // rnd.randint(3, 8)
                prices.append(price)
        m.sku1 = len(skus)
        offsets.append(m.sku0)
        counts.append(m.sku1 - m.sku0)
        merchants.append(m)
    _choose_live(merchants, rates, rnd)
    return World(
        merchants=merchants, skus=skus, order_rate=rates, complaint_p=cprop,
        sku_offset=np.array(offsets, np.int64), sku_count=np.array(counts, np.int64),
        price=np.array(prices, np.float64), sales=np.zeros(len(skus), np.int64),
    )


def _choose_live(merchants: list[Merchant], rates: np.ndarray, rnd: random.Random) -> None:
    """Mark about ``LIVE_SHARE`` of merchants as livestreaming (bigger shops more likely)."""
    eligible = [m for m in merchants if m.category not in ("药品", "医疗器械")]
    want = max(1, round(LIVE_SHARE * len(merchants))) if merchants else 0
    scored = sorted(eligible, key=lambda m: -(float(rates[m.idx]) ** 0.5) * rnd.random())
    for m in scored[:want]:
        m.live = True
        m.room_id = f"room-{m.merchant_id[2:]}"
