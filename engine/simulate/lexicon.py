"""Wording used only by injected incidents: violating terms, their evasions,
medical claims, and the lawful look-alikes used as decoys.

Each ban-tier term comes with sentence templates (``{t}`` = the term, ``{n}`` =
the product noun) so the injected copy reads like real shop copy. Evasions
model what the rules brief says sellers do to dodge keyword filters:
full-width forms, spaces or zero-width characters inside the term,
traditional characters, digit variants and homophones / pinyin.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

# ----------------------------------------------------------------- ban tier


@dataclass(frozen=True)
class BanTerm:
    """A ban-tier absolute term and the ways it can be written to evade filters."""

    term: str
    listing: tuple[str, ...]  # templates for listing copy
    speech: tuple[str, ...]  # templates for host speech
    traditional: str = ""
    digit: str = ""
    homophone: tuple[str, ...] = ()


_ADJ_L = ("{t}品质{n}，送礼自用都合适", "这款{n}采用{t}工艺", "{t}{n}，值得拥有")
_ADJ_S = ("家人们，这款{n}绝对是{t}的，今天直播间福利价", "我跟你们说这个{n}就是{t}的，闭眼入", "{t}的{n}，别家真的比不了")
_RANK_L = ("{n}{t}，好评如潮", "【{t}】{n}", "本店{n}{t}，回购率超高")
_RANK_S = ("我们家这个{n}是{t}，家人们放心拍", "{t}的{n}，今天给到你们最大的福利", "这个{n}{t}，卖了几十万单了")
_PRICE_L = ("今日{t}，错过再等一年", "【{t}】{n}限时抢购", "{n}{t}，手慢无")
_PRICE_S = ("今天这个价格是{t}，家人们赶紧拍", "{t}了家人们，就今天这一场", "这个{n}今天{t}，过了今晚就恢复原价")

BAN_TERMS: tuple[BanTerm, ...] = (
    BanTerm("国家级", _ADJ_L, _ADJ_S, traditional="國家級", homophone=("国家ji", "guo家级")),
    BanTerm("世界级", _ADJ_L, _ADJ_S, traditional="世界級", homophone=("世界ji",)),
    BanTerm("最佳", _ADJ_L, _ADJ_S, traditional="最佳", homophone=("醉佳", "zui佳", "最jia")),
    BanTerm("最好", _ADJ_L, _ADJ_S, traditional="最好", homophone=("醉好", "zui好")),
    BanTerm("顶级", _ADJ_L, _ADJ_S, traditional="頂級", homophone=("鼎级", "ding级")),
    BanTerm("极品", _ADJ_L, _ADJ_S, traditional="極品", homophone=("极pin", "jí品")),
    BanTerm("至尊", _ADJ_L, _ADJ_S, traditional="至尊", homophone=("至zun",)),
    BanTerm("最强", _ADJ_L, _ADJ_S, traditional="最強", homophone=("醉强", "zui强")),
    BanTerm("最先进", _ADJ_L, _ADJ_S, traditional="最先進", homophone=("醉先进",)),
    BanTerm("第一品牌", _RANK_L, _RANK_S, traditional="第一品牌", digit="第1品牌", homophone=("第yi品牌", "弟一品牌")),
    BanTerm("全网第一", _RANK_L, _RANK_S, traditional="全網第一", digit="全网第1", homophone=("全网di一",)),
    BanTerm("销量第一", _RANK_L, _RANK_S, traditional="銷量第一", digit="销量第1", homophone=("销量di一",)),
    BanTerm("NO.1", _RANK_L, _RANK_S, digit="No1", homophone=("Number One", "Top one")),
    BanTerm("TOP1", _RANK_L, _RANK_S, digit="TOP 1", homophone=("Top one",)),
    BanTerm("最畅销", _RANK_L, _RANK_S, traditional="最暢銷", homophone=("醉畅销",)),
    BanTerm("史上最低价", _PRICE_L, _PRICE_S, traditional="史上最低價", homophone=("史上醉低价", "史上zui低价")),
    BanTerm("全网最低价", _PRICE_L, _PRICE_S, traditional="全網最低價", homophone=("全网醉低价",)),
    BanTerm("独一无二", _ADJ_L, _ADJ_S, traditional="獨一無二", digit="独1无2", homophone=("独yi无二",)),
)

# Traditional-character context sentences (whole copy in 繁體) for the
# "traditional" evasion; {t} is the traditional form of the term.
TRAD_LISTING = ("這款產品是{t}的選擇，品質保證", "【{t}】限時優惠，送禮自用兩相宜", "本店{t}，好評如潮")
TRAD_SPEECH = ("家人們，這個真的是{t}的，今天直播間福利價", "{t}的品質，大家放心拍")

EVASIONS = ("fullwidth", "spacing", "zero_width", "traditional", "digit", "homophone")


def _fullwidth(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s)


def applicable_evasions(term: BanTerm) -> tuple[str, ...]:
    """The evasion kinds that make sense for ``term`` (full-width needs ASCII …)."""
    out = []
    for how in EVASIONS:
        if how == "fullwidth" and not any("!" <= c <= "~" for c in term.term):
            continue
        if how == "traditional" and not term.traditional:
            continue
        if how == "digit" and not term.digit:
            continue
        if how == "homophone" and not term.homophone:
            continue
        out.append(how)
    return tuple(out)


def evade(rnd: random.Random, term: BanTerm, how: str) -> str:
    """Write ``term`` in the evasive form ``how`` (one of :func:`applicable_evasions`)."""
    t = term.term
    if how == "fullwidth":
        return _fullwidth(t)
    if how == "traditional":
        return term.traditional
    if how == "digit":
        return term.digit
    if how == "homophone":
        return rnd.choice(term.homophone)
    cut = rnd.randint(1, len(t) - 1)
    if how == "zero_width":
        return t[:cut] + rnd.choice(("\u200b", "\u200c", "\ufeff")) + t[cut:]
    return t[:cut] + rnd.choice((" ", "  ", ".", "·", "\u3000")) + t[cut:]


def absolute_sentence(
    rnd: random.Random, term: BanTerm, noun: str, where: str, evasion: str | None
) -> tuple[str, str, str]:
    """A sentence using ``term`` (possibly evaded) for a listing or speech.

    Returns (sentence, evasion label or "plain", the term as written).
    """
    if evasion is None:
        written, label = term.term, "plain"
    else:
        written, label = evade(rnd, term, evasion), evasion
    if label == "traditional":
        tpl = rnd.choice(TRAD_LISTING if where == "listing" else TRAD_SPEECH)
        return tpl.format(t=written), label, written
    tpl = rnd.choice(term.listing if where == "listing" else term.speech)
    return tpl.format(t=written, n=noun), label, written


# --------------------------------------------------------------- medical

# Medical / efficacy claims that are unlawful on non-medical goods (AD-02, AD-06).
MEDICAL_CLAIMS: dict[str, tuple[str, ...]] = {
    "食品": (
        "每天一杯，降血压降血脂，比吃药还管用",
        "坚持吃三个月，糖尿病都能根治",
        "抗癌防癌，中老年人必备",
        "7天瘦10斤，不反弹",
        "排毒养颜，药到病除",
        "长期食用可以治疗失眠和便秘",
    ),
    "保健食品": (
        "吃了以后高血压能根治，可以替代药物",
        "抗癌效果显著，临床有效率98%",
        "治疗糖尿病，无副作用",
        "三天见效，永不复发",
    ),
    "化妆品": (
        "治疗痘痘，三天见效",
        "根治湿疹皮炎，无副作用",
        "消炎抗炎，烂脸也能治愈",
        "7天淡斑，治愈率99%",
    ),
    "家居日用": (
        "负离子枕头治疗失眠，颈椎病一睡就好",
        "睡一个月根治颈椎病",
        "活血化瘀，治疗关节炎",
    ),
    "服装鞋帽": (
        "磁疗保暖内衣，治疗关节炎和老寒腿",
        "穿上就能降血压，活血化瘀",
    ),
    "母婴用品": (
        "宝宝湿疹用了三天痊愈，治愈率98%",
        "治疗红屁屁，无副作用",
    ),
    "食用农产品": (
        "每天吃两个，降血糖效果明显",
        "抗癌水果，医生都推荐",
    ),
    "数码家电": (
        "理疗模式可以治疗颈椎病",
        "负离子功能抗癌防病，药到病除",
    ),
}
MEDICAL_SPEECH_PREFIX = ("家人们我跟你们说，", "真的，", "好多粉丝反馈，", "", "我自己用了，")

# --------------------------------------------------------------- decoys

# Lawful copy that contains characters or words a naive matcher flags.
BENIGN_LISTING: tuple[str, ...] = (
    "最近很多老顾客回购，感谢支持。",
    "下单最后一步请确认收货地址。",
    "第一次购买的顾客可以先领新人券，首单立减5元。",
    "最高立减20元，最多可叠加一张店铺券。",
    "最佳食用期为开封后7天内，请冷藏保存。",
    "治愈系暖色包装，送朋友也很合适。",
    "配套软件支持防病毒扫描。",
    "官网使用品牌自有顶级域名，谨防仿冒网站。",
    "每件商品附唯一标识溯源码。",
    "最好先咨询客服确认尺寸再下单。",
    "使用方法：第一步清洁，第二步涂抹，第三步按摩至吸收。",
    "我们追求做最好的产品，这是品牌一直以来的目标。",
    "特级初榨，等级符合国家标准。",
    "最佳食用时间为饭后半小时。",
    "冠军赛同款配色，第一批现货。",
)
BENIGN_HEALTH_FOOD = (
    "【注意事项】本品不能代替药物，不宜超过推荐量或与同类营养素补充剂同时食用。",
)
BENIGN_SPEECH: tuple[str, ...] = (
    "最近天气冷了，家人们注意保暖",
    "第一次来我们直播间的家人点个关注",
    "下单的最后一步记得选一下规格",
    "最高立减20元的券在小黄车里，家人们自己领",
    "这个香味特别治愈系，我自己很喜欢",
    "首单的家人可以再领一张新人券",
    "最好先看一下尺码表再拍",
)
DRUG_INDICATIONS: dict[str, str] = {
    "布洛芬缓释胶囊": "【适应症】用于治疗轻至中度疼痛，如头痛、关节痛、牙痛、痛经，也用于普通感冒或流行性感冒引起的发热。",
    "氯雷他定片": "【适应症】用于治疗过敏性鼻炎有关的症状，如喷嚏、流涕、鼻痒；亦适用于缓解慢性荨麻疹。",
    "蒙脱石散": "【适应症】用于治疗成人及儿童急、慢性腹泻。",
    "板蓝根颗粒": "【功能主治】清热解毒，凉血利咽。用于治疗肺胃热盛所致的咽喉肿痛。",
    "维生素B族片": "【适应症】用于预防和治疗B族维生素缺乏症。",
    "电子血压计": "【适用范围】供成人测量血压，辅助高血压患者治疗期间的家庭监测。",
    "医用外科口罩": "【适用范围】供临床医务人员在有创操作及治疗等过程中佩戴。",
    "红外额温枪": "【适用范围】用于测量人体额头温度，辅助发热治疗期间的体温监测。",
    "血糖试纸": "【适用范围】用于糖尿病患者治疗期间的血糖自我监测。",
}

# Words that make a lower spoken price lawful (PR-09 condition words).
CONDITION_SPEECH: tuple[str, ...] = (
    "领券后到手{p}元",
    "满减之后到手{p}元",
    "会员价{p}元，开通会员的家人直接拍",
    "拍两件每件只要{p}元",
    "用上店铺券，到手{p}元",
)
# A lower price spoken with no condition at all (PR-09 violation).
MISMATCH_SPEECH: tuple[str, ...] = (
    "家人们今天直播间到手价{p}元，直接拍",
    "这个{n}今天就{p}元，家人们冲",
    "我们今天给到{p}元到手，三二一上链接",
    "{p}元！{p}元到手，家人们拍起来",
)

# Complaint texts for the group-complaint (跑路) pattern.
GROUP_TEXTS: dict[str, tuple[str, ...]] = {
    "合同": (
        "双11付款后一直不发货，客服联系不上，怀疑商家跑路。",
        "下单一周仍未发货，店铺客服不回复，电话也打不通。",
        "付款后商家以缺货为由拖延发货，要求退款也联系不上。",
        "店铺突然关店，已付款的订单不发货，联系不上商家。",
    ),
    "售后服务": (
        "申请退款后商家一直不处理，客服联系不上。",
        "商品有问题要求退货，商家拒绝并拉黑，疑似跑路。",
        "退货寄回后商家不退款，多次联系不上。",
    ),
    "质量": (
        "收到的{n}有明显质量问题，同一批次很多人反映，商家拒绝处理。",
        "{n}用了两天就坏了，评论区也有很多人遇到同样问题。",
        "{n}与宣传严重不符，质量很差，商家不予退换。",
    ),
}


# =====================================================================
# Wording of the cn-platform pack's incident kinds (violations and the
# lawful look-alikes used as their decoys). Background copy never contains
# any of the violating patterns below; tests/simulate/test_background.py
# checks that with the regular expressions of the same names.
# =====================================================================

# ------------------------------------------------ ad_caution (caution tier)

#: Caution-tier superlatives (广告法 9(3) near-synonyms that need context).
CAUTION_TERMS: tuple[str, ...] = (
    "遥遥领先", "领先", "唯一", "独家", "首家", "首选", "首创", "领导品牌", "领袖品牌", "王牌", "冠军", "销冠",
    "万能", "百分百", "100%", "永久",
)
#: Claim nouns: a caution term within 6 characters of one of these is a claim about the product.
CLAIM_NOUNS: tuple[str, ...] = ("销量", "品质", "效果", "品牌", "产品", "正品", "配方", "技术", "功效")
#: Violating copy: the caution term sits right next to a claim noun ({n} = product noun).
CAUTION_LISTING: tuple[str, ...] = (
    "{n}销量遥遥领先，回购率高",
    "行业领导品牌，品质专注{n}十余年",
    "唯一正品渠道，假一赔十",
    "全国首家品牌直营，{n}放心选",
    "效果100%看得见",
    "{n}品质首选，送礼自用",
    "首创技术，{n}更耐用",
    "王牌产品，{n}复购率高",
    "销冠产品，{n}人手一件",
    "万能产品，一物多用",
    "正品百分百，放心下单",
    "冠军品质，{n}之选",
    "技术领先同行十年",
    "品质永久保证",
)
#: Caution-tier claims about a formula (only on food, cosmetics and health food).
CAUTION_FORMULA: tuple[str, ...] = ("独家配方，{n}口碑之选", "{n}采用独家配方，功效百分百")
FORMULA_CATS = ("食品", "化妆品", "保健食品")
CAUTION_SPEECH: tuple[str, ...] = (
    "家人们，这个{n}销量遥遥领先",
    "我们是行业领导品牌，品质放心，{n}放心拍",
    "这个{n}正品百分百，家人们放心",
    "效果百分百看得见，家人们冲",
    "王牌产品，我们家卖得最久的{n}",
    "{n}品质首选，闭眼入",
    "唯一正品渠道就在我们直播间",
)
#: Lawful look-alikes (decoy ``ad_caution_lookalike``); the caution characters appear only inside
#: the compounds of ``CAUTION_ALLOW`` (or with no claim noun nearby).
CAUTION_DECOY_LISTING: tuple[str, ...] = (
    "每件产品附唯一标识溯源码，扫码可查批次。",
    "冠军赛同款配色，现货发售。",
    "更多款式请返回店铺首页查看。",
    "新人首单立减5元，领券后下单。",
    "本店为{brand}品牌华东地区独家授权经销商，授权书编号SQ{y}{d4}。",
)
CAUTION_DECOY_COTTON = "面料成分：100%纯棉，以吊牌标注为准。"  # apparel and bedding only (a composition fact)
#: Compounds that make a caution term lawful (the allowlist a rule needs for the decoys above).
CAUTION_ALLOW: tuple[str, ...] = ("唯一标识", "冠军赛", "首页", "首单", "100%纯棉", "独家授权经销")

# ------------------------------------------- ad_state_endorsement (AD-05)

STATE_TERMS: tuple[str, ...] = (
    "特供", "专供", "国家免检", "免检产品", "国家领导人推荐", "国宴指定", "人民大会堂专用", "驰名商标",
)
STATE_LISTING: tuple[str, ...] = (
    "国宴指定{n}，品质有保障",
    "人民大会堂专用{n}",
    "国家领导人推荐的{n}",
    "机关特供{n}，内部渠道",
    "政府机关专供，{n}限量供应",
    "国家免检产品，质量放心",
    "免检产品，出厂直发",
    "驰名商标，{brand}{n}",
)
STATE_SPEECH: tuple[str, ...] = (
    "家人们，我们这个{n}是国宴指定的",
    "这可是特供的{n}，外面买不到",
    "驰名商标，大品牌放心买",
    "国家领导人推荐的{n}，今天直播间有",
    "国家免检产品，家人们放心拍",
)
#: Lawful history sentences (decoy ``ad_state_history``): 专供出口 (export-only production) and a past
#: B2B supply fact introduced by 曾为.
STATE_DECOY_LISTING: tuple[str, ...] = (
    "本厂曾为专供出口企业，2015年起转为内销。",
    "该款原为专供出口型号，现已在国内上市。",
    "品牌历史：本厂1998年曾为航空配餐特供企业。",
)
STATE_ALLOW: tuple[str, ...] = ("专供出口", "曾为")

# ------------------------------------------------ ad_unsourced_claim (AD-07)

UNSOURCED_LISTING: tuple[str, ...] = (
    "研究表明，坚持使用{n}的人满意度更高。",
    "数据显示，{p}%的用户购买后选择回购。",
    "实验证明，{n}耐用性提升{q}%。",
    "{p}%的用户反馈{n}好用。",
)
#: Claims that only make sense for skin-contact goods.
UNSOURCED_SKIN: tuple[str, ...] = ("临床证明，{n}温和不刺激。",)
SKIN_CATS = ("化妆品", "母婴用品")
PATENT_LISTING: tuple[str, ...] = ("采用专利技术，{n}更耐用。", "专利设计，{n}使用更省心。")
#: Source markers that make the same sentences lawful (decoy ``ad_sourced_claim``).
SOURCE_MARKERS: tuple[str, ...] = (
    "（数据来源：{zh}消费研究院{y}年用户调研报告）",
    "（来源：{zh}检测技术有限公司{y}年检测报告，编号JC{y}{d4}）",
)
PATENT_DECOY = "采用专利技术（专利号：{no}），{n}更耐用。"

# ------------------------------------------------ ad_invented_effect (AD-06)

#: Efficacy-time claims by category (non-medical goods), listing and speech alike.
EFFECT_CLAIMS: dict[str, tuple[str, ...]] = {
    "食品": ("坚持吃7天瘦10斤", "3天见效，肚子小一圈", "21天瘦15斤", "孩子吃了30天长高5厘米"),
    "食用农产品": ("每天吃一点，7天瘦5斤",),
    "化妆品": ("一周白三度", "21天祛斑", "坚持用28天祛斑", "3天见效"),
    "保健食品": ("孩子吃了30天长高5厘米", "3天见效"),
}
EFFECT_GENERIC = "用了3天见效"  # host speech about goods with no category-specific claim
EFFECT_SPEECH_PREFIX = ("家人们，这个{n}", "真的，我们家这个{n}", "好多粉丝反馈，{n}")
#: Service periods that look like efficacy periods (decoy ``ad_service_period``).
SERVICE_PERIOD_LISTING: tuple[str, ...] = ("支持7天无理由退换。", "下单后3天内发货。", "本店支持30天价保。")
SERVICE_PERIOD_SPEECH: tuple[str, ...] = ("家人们放心，支持7天无理由退换", "今天拍的3天内发货", "我们家支持30天价保")

# ------------------------------------------------------- drug_guarantee (AD-03)

DRUG_GUARANTEES: tuple[str, ...] = (
    "无副作用，放心使用",
    "100%有效，无效退款",
    "临床治愈率98%",
    "有效率95%以上，无副作用",
    "保证治愈，不再复发",
    "药到病除",
)

# --------------------------------------------------- health food (AD-04)

HEALTH_DISEASE_CLAIMS: tuple[str, ...] = (
    "长期服用可预防高血压",
    "治疗失眠，一觉到天亮",
    "辅助降血糖，糖友必备",
    "抗肿瘤，增强体质",
    "预防高血压和中风",
)
HEALTH_WARNING = "本品不能代替药物"
#: Approved-function wording of the decoy ``health_food_approved`` (with the mandatory warning).
HEALTH_APPROVED = "【保健功能】{f}（经注册的保健功能，以批准证书为准）。"

# ------------------------------------------------------ infant formula (AD-04)

INFANT_CLAIMS: tuple[str, ...] = (
    "添加DHA，益智健脑",
    "提高免疫力，宝宝少生病",
    "增强抵抗力",
    "保护肠道健康",
    "可替代母乳",
    "配方接近母乳",
)
INFANT_PLAIN: tuple[str, ...] = (
    "【配料】生牛乳、脱盐乳清粉、乳糖、植物油、浓缩乳清蛋白粉、低聚半乳糖、维生素、矿物质。",
    "【营养成分】每100g含能量2100kJ、蛋白质11.5g、脂肪26.0g、碳水化合物55.0g。",
    "【产品类型】乳基婴儿配方食品，配方注册号见罐身。",
)

# ------------------------------------------------------- price texts

LOWEST_CLAIMS: tuple[str, ...] = ("全网最低价", "历史最低价", "史上最低价")
LOWER_THAN_USUAL = "双11活动价，比平时低{x}元"

# ----------------------------------------------------- livestream texts

#: Scarcity lines (LV-08); {x} is a small number.
SCARCITY_SPEECH: tuple[str, ...] = (
    "最后{x}单了家人们，拍完就没了",
    "仅剩{x}件了，抓紧时间",
    "马上下架了，还没拍的赶紧",
    "最后一波福利了家人们",
    "库存告急，库存告急，手慢无",
)
SELLOUT_SPEECH: tuple[str, ...] = ("仅剩{x}件了，拍完就没有了", "现在仅剩{x}件，还没拍的家人抓紧")

#: Off-platform diversion (LV-11) in speech and listing copy; {wx} is an invented account name.
OFFPLATFORM_SPEECH: tuple[str, ...] = (
    "想要便宜的家人加我微信，私下转账再少十块",
    "私信下单的家人我给你们单独留",
    "V信搜一下{wx}，福利都在群里",
    "扫码加群，群里天天发券",
    "加群领券，主页有二维码",
    "薇信同号{wx}，批发价私聊",
)
OFFPLATFORM_LISTING: tuple[str, ...] = (
    "下单前请先加我微信{wx}咨询，私下转账再优惠10元。",
    "加群领券：扫码加群，每周福利。",
    "拍前请私信下单，V信：{wx}。",
    "薇信同号{wx}，批发价另议。",
    "详情vx：{wx}。",
)
ONPLATFORM_SPEECH: tuple[str, ...] = (
    "有问题的家人直接联系平台客服",
    "售后问题请在平台内私信客服，我们都会处理",
)
ONPLATFORM_LISTING: tuple[str, ...] = (
    "如有问题请联系平台客服，或在平台内私信客服处理。",
    "点击页面右下角客服按钮，在线客服为您服务。",
)
OFFPLATFORM_TERMS: tuple[str, ...] = ("加微信", "加我微信", "薇信", "V信", "vx", "私信下单", "扫码加群", "加群领券", "私下转账")

#: Prohibited goods (LV-06): (term, title template, category_std, platform category, price band).
PROHIBITED_ITEMS: tuple[tuple[str, str, str, str, tuple[float, float]], ...] = (
    ("电子烟", "一次性电子烟 水果味 6000口", "其他", "其他/电子烟", (39, 89)),
    ("烟油", "电子烟烟油 30ml 多口味可选", "其他", "其他/电子烟", (29, 69)),
    ("弓弩", "户外狩猎弓弩 全金属 配箭", "其他", "户外/狩猎", (299, 899)),
    ("仿真枪", "合金仿真枪 1:1 可发射", "其他", "玩具/仿真", (129, 399)),
    ("象牙", "天然象牙雕刻摆件", "其他", "收藏/摆件", (999, 3999)),
    ("穿山甲", "穿山甲鳞片 中药材 50g", "其他", "滋补/药材", (199, 599)),
)
PROHIBITED_DRUGS: tuple[tuple[str, str, str, str, tuple[float, float]], ...] = (
    ("米非司酮", "米非司酮片 25mg*3片", "药品", "处方药/计划生育", (39, 89)),
    ("麻黄碱", "复方感冒片 含麻黄碱 24片", "药品", "OTC/感冒用药", (15, 39)),
)
PROHIBITED_SPEECH: tuple[str, ...] = (
    "家人们，{t}也有货，要的扣1",
    "今天{t}也上链接了，数量不多",
    "需要{t}的家人，今天有现货",
)
PROHIBITED_TERMS: tuple[str, ...] = ("电子烟", "烟油", "米非司酮", "麻黄碱", "弓弩", "管制刀具", "仿真枪", "象牙", "穿山甲")
#: Lawful goods whose names are close to prohibited ones (decoy ``prohibited_lookalike``).
LOOKALIKE_GOODS: tuple[tuple[str, str, str, str, tuple[float, float]], ...] = (
    ("电子秤", "厨房电子秤 5kg/0.1g 高精度 烘焙", "家居日用", "厨房工具/电子秤", (29, 69)),
    ("戒烟贴", "草本戒烟贴 30贴装", "家居日用", "成人用品/戒烟", (29, 59)),
)
LOOKALIKE_COLOUR = "象牙白"  # a colour name on apparel; contains 象牙 but is not ivory
LOOKALIKE_ALLOW: tuple[str, ...] = ("象牙白",)

# ------------------------------------------------------- merchant texts

CASHBACK_LISTING: tuple[str, ...] = (
    "好评返现5元，联系客服领取。",
    "晒图返5元红包。",
    "五星好评送小礼品一份。",
    "好评截图返红包，联系客服。",
)
CASHBACK_SPEECH: tuple[str, ...] = (
    "收到货的家人五星好评送运费险",
    "好评截图发客服返红包",
    "晒图返5元，记得找客服",
    "好评返现，家人们记得联系客服",
)
CASHBACK_TERMS: tuple[str, ...] = ("好评返现", "晒图返", "五星好评送", "好评截图返", "好评送", "返红包")
REVIEW_INVITE_LISTING = "收到商品后欢迎真实评价，有问题请先联系客服。"
REVIEW_INVITE_SPEECH = "收到货的家人欢迎真实评价"

# ----------------------------------------------------- complaints

#: Complaint texts that quote an advertising / medical / price violation (complaint_confirms_warning).
CONFIRM_TEXTS: dict[str, tuple[str, ...]] = {
    "虚假宣传": (
        "商品页面宣称「{c}」，收到后发现与宣传不符，要求退款。",
        "商家宣传「{c}」，实际使用没有效果，涉嫌虚假宣传。",
    ),
    "广告": ("商品页面使用「{c}」等广告用语，涉嫌违反广告法。",),
    "直播": ("在直播间购买，主播宣称「{c}」，收到后与宣传严重不符。",),
    "价格": ("{c}",),
}

#: Professional claimants' templates (职业索赔): one problem category and demand each; {d} date, {n} goods.
PRO_TEMPLATES: tuple[tuple[str, str, str], ...] = (
    ("食品安全", "十倍赔偿",
     "本人于{d}在该店铺购买{n}，收到后发现商品标签未标注生产许可证编号，不符合食品安全国家标准，"
     "依据《食品安全法》第一百四十八条要求商家支付价款十倍赔偿，并请求依法查处。"),
    ("食品安全", "十倍赔偿",
     "{d}在网店购买{n}，经查该产品标签存在违反GB 7718的情形，属于不符合食品安全标准的食品，请求责令商家十倍赔偿并立案调查。"),
    ("虚假宣传", "三倍赔偿",
     "本人于{d}购买{n}，商家在商品页面作虚假宣传，构成欺诈，依据《消费者权益保护法》第五十五条要求三倍赔偿，请依法查处。"),
    ("虚假宣传", "三倍赔偿",
     "{d}在该店购买{n}，商品详情页宣传内容与实际不符，涉嫌欺诈消费者，要求三倍赔偿，并请贵局依法立案。"),
    ("广告", "三倍赔偿",
     "该店铺{n}详情页使用违法广告用语，违反《广告法》第九条，本人于{d}购买，要求三倍赔偿并依法处罚。"),
)
