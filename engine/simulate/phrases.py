"""Ordinary host speech and complaint wording (background traffic).

Host speech is what an ASR transcript of a normal selling stream looks like:
greetings, product talk, logistics, interaction, and the price of the current
item spoken exactly as shown on the link ("到手价59元"), occasionally rounded
down by less than one yuan ("59.9" said as "59"), which the pricing rules allow
(舍零取整). Complaint texts follow the problem categories of 12315 reports.
"""
from __future__ import annotations

import random

GREETINGS = (
    "欢迎刚进直播间的家人们，点点关注不迷路",
    "新进来的宝宝扣个1，让我看到你们",
    "家人们晚上好，今天双11专场福利多多",
    "还没点关注的家人点一下左上角关注",
    "感谢家人们的点赞，点赞到一万我们抽一波奖",
    "主播今天给大家准备了好几款好物",
)
PRODUCT_TALK = (
    "这款{n}我们家卖了好几年了，老顾客都知道",
    "来，{n}的细节给大家看一下",
    "{p}，这是这款{n}的一大特点",
    "有家人问{n}怎么选，我给大家讲一下",
    "这个{n}我自己家里也在用",
    "{n}的包装给大家展示一下，都是独立包装的",
    "大家看一下这个{n}的做工",
)
PRODUCT_TALK_BY_CAT = {
    "服装鞋帽": ("我身高165穿的是M码，家人们可以参考", "面料摸上去很软，不起球", "这个颜色很显白，秋冬很好搭"),
    "食品": ("这个口味是我们家卖得好的，大家可以先拍一份尝尝", "保质期12个月，可以放心囤", "配料表给大家念一下，都在详情页"),
    "食用农产品": ("产地直发的，今天早上刚摘的", "个头都挺大的，大家看一下切开的样子", "坏果包赔，拍照联系客服就行"),
    "化妆品": ("敏感肌的家人先在耳后试一下", "质地给大家看一下，很好推开", "早晚都可以用，用量一元硬币大小就够"),
    "家居日用": ("尺寸在详情页，家人们量一下再拍", "可以机洗，不掉色", "这个放在卧室很好看"),
    "数码家电": ("全国联保一年，有问题直接找客服", "续航给大家实测一下", "支持七天无理由，家人们放心"),
    "母婴用品": ("宝妈们可以看一下这个材质", "我们家宝宝也在用这个", "有3C认证的，证书在详情页"),
    "保健食品": ("这个是蓝帽子产品，批准文号在详情页", "每天一片就可以，不要超量", "本品不能代替药物，大家理性购买"),
    "药品": ("请按说明书使用，有问题咨询药师", "这个是非处方药，详情页有说明书"),
    "医疗器械": ("使用前请看说明书", "注册证编号在详情页可以查到"),
    "婴幼儿配方食品": ("冲调说明在罐子上，水温四十到五十度", "开罐后四周内喝完"),
}
LOGISTICS = (
    "今天拍的48小时内发货",
    "支持七天无理由，家人们放心拍",
    "运费险给大家配上了",
    "江浙沪次日达，其他地区两到三天",
    "拍完记得确认一下收货地址",
)
INTERACTION = (
    "想要的家人公屏扣'想要'",
    "有问题的在公屏打出来，我一个一个回答",
    "我看到有家人问能不能再便宜点，已经是直播间专属价了",
    "拍了的家人扣个'已拍'",
    "下一款马上给大家上，先把这款讲完",
)
PRICE_TALK = (
    "这款{n}今天直播间到手价{p}元",
    "链接里{p}元，直接拍就是这个价",
    "{p}元到手，还包邮",
    "今天到手价{p}元，家人们可以去拍了",
)
STOCK_TALK = (
    "库存还有{s}件，拍完就补货",
    "已经拍了好多单了，谢谢家人们支持",
    "这一批货一共备了{s}件",
)

COMPLAINT_TEXTS = {
    "质量": (
        "收到的{n}有破损，联系客服只同意补偿5元，要求退货退款。",
        "{n}使用不到一周就出现质量问题，商家拒绝售后。",
        "收到的{n}与商品描述不符，品质较差。",
    ),
    "售后服务": (
        "申请退货后商家迟迟不处理。",
        "商家拒绝七天无理由退货。",
        "客服回复很慢，问题一直没有解决。",
        "物流显示已签收但本人未收到，商家不处理。",
    ),
    "合同": (
        "商家单方面取消订单，要求按约定履行。",
        "预售商品超过约定时间仍未发出。",
        "双11活动承诺的赠品未发放。",
    ),
    "价格": (
        "付款后商品降价，商家不给价保。",
        "活动宣传的优惠券无法使用，实付金额高于页面宣传价。",
        "划线价与实际价格不符，怀疑虚构原价。",
    ),
    "虚假宣传": (
        "商品详情宣称的效果与实际不符。",
        "宣传为纯棉，实际为混纺面料。",
        "直播间宣传的赠品收货时没有。",
    ),
    "广告": ("商品页面使用夸大宣传用语。",),
    "食品安全": (
        "收到的{n}已经过期。",
        "{n}中发现异物。",
        "食用后出现腹泻，怀疑{n}变质。",
    ),
    "安全": ("{n}使用时发热严重，存在安全隐患。",),
    "计量": ("{n}实际重量不足标注重量。",),
    "假冒": ("怀疑收到的{n}是假货，与专柜比对不一致。",),
    "人格尊严": ("客服在沟通中辱骂消费者。",),
    "不正当竞争": ("商家诱导好评返现。",),
    "其他": ("咨询商品发票开具问题。",),
}
# Problem-category mix of online-shopping complaints (order of 12315 reports).
PROBLEM_MIX: tuple[tuple[str, float], ...] = (
    ("质量", 0.29), ("售后服务", 0.25), ("合同", 0.12), ("价格", 0.06), ("虚假宣传", 0.08),
    ("广告", 0.02), ("食品安全", 0.05), ("安全", 0.02), ("计量", 0.01), ("假冒", 0.04),
    ("人格尊严", 0.01), ("不正当竞争", 0.01), ("其他", 0.04),
)
FOOD_CATS = ("食品", "保健食品", "食用农产品", "婴幼儿配方食品")
DEMANDS = {
    "质量": ("退货退款", "换货", "赔偿"),
    "售后服务": ("退款", "退货退款"),
    "合同": ("履行合同", "退款"),
    "价格": ("退还差价", "退款"),
    "虚假宣传": ("退一赔三", "退款"),
    "广告": ("查处",),
    "食品安全": ("十倍赔偿", "退款"),
    "安全": ("退货退款", "赔偿"),
    "计量": ("补足差额", "退款"),
    "假冒": ("退一赔三",),
    "人格尊严": ("道歉",),
    "不正当竞争": ("查处",),
    "其他": ("咨询",),
}
KIND_MIX: tuple[tuple[str, float], ...] = (("投诉", 0.85), ("举报", 0.10), ("咨询", 0.05))
CHANNEL_MIX: tuple[tuple[str, float], ...] = (
    ("app", 0.42), ("mini_program", 0.20), ("pc", 0.15), ("phone", 0.13), ("platform", 0.08), ("letter", 0.02),
)


def money(p: float) -> str:
    """Spoken/printed form of a price: 59, 59.9, 59.95."""
    if p == int(p):
        return str(int(p))
    return f"{p:.2f}".rstrip("0")


def host_line(rnd: random.Random, cat: str, noun: str, point: str, price: float, stock: int) -> tuple[str, list[float]]:
    """One ordinary transcript segment and the prices it mentions.

    About one segment in five states the current price, exactly or rounded
    down by less than one yuan.
    """
    x = rnd.random()
    if x < 0.2:
        spoken = price
        if price != int(price) and rnd.random() < 0.3:
            spoken = float(int(price))  # "59.9" said as "59": rounding, lawful
        return rnd.choice(PRICE_TALK).format(n=noun, p=money(spoken)), [spoken]
    if x < 0.42:
        text = rnd.choice(PRODUCT_TALK).format(n=noun, p=point)
    elif x < 0.62:
        text = rnd.choice(PRODUCT_TALK_BY_CAT.get(cat, PRODUCT_TALK_BY_CAT["家居日用"]))
    elif x < 0.72:
        text = rnd.choice(GREETINGS)
    elif x < 0.82:
        text = rnd.choice(INTERACTION)
    elif x < 0.92:
        text = rnd.choice(LOGISTICS)
    else:
        text = rnd.choice(STOCK_TALK).format(s=stock)
    return text, []
