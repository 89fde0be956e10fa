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
