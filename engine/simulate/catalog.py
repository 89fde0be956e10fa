"""What the simulated shops sell: categories, products, brands, names, places.

Everything here is plain, lawful marketing copy of the kind found on Chinese
platforms. Some ordinary words contain characters that a naive keyword matcher
would flag (最近, 第一次, 首单, 最高立减, 最佳食用期, 治愈系, 防病毒, 顶级域名,
唯一标识, 特级初榨 …); they are here on purpose, because a detector must not fire
on them. Violating wording lives in :mod:`engine.simulate.lexicon` and only
enters the stream through :mod:`engine.simulate.inject`.

Background copy keeps to the lawful look-alikes that the rules brief lists
(so a well-configured allowlist can pass it); trickier lawful phrasings are
injected as labelled decoys instead, where their false alarms are measurable.

Brands and company names are invented (random two-character 字号), so no real
business is named.
"""
from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Product:
    """One kind of goods: noun for titles, sizes, a price band, selling points."""

    noun: str
    specs: tuple[str, ...]
    price: tuple[float, float]
    sub: str
    points: tuple[str, ...]
    lines: tuple[str, ...] = ()
    indication: str = ""  # 药品/医疗器械: approved use; 保健食品: approved function


@dataclass(frozen=True)
class Category:
    """A standard category (schema ``category_std``) and how its shops behave."""

    std: str
    root: str  # platform category root
    goods_cat: str  # 12315 goods taxonomy label used in complaints
    merchant_share: float
    order_scale: float  # relative order count per SKU
    refund_rate: float
    cancel_rate: float
    products: tuple[Product, ...]
    lines: tuple[str, ...]  # generic detail sentences
    tips: tuple[str, ...]  # innocent sentences with "risky-looking" words
    licence: str = ""  # licence/filing type shown on listings
    price_label: str = "厂商建议零售价"  # lawful reference-price label for this category


P = Product

CATEGORIES: tuple[Category, ...] = (
    Category(
        std="服装鞋帽", root="服饰内衣", goods_cat="服装鞋帽", merchant_share=0.21,
        order_scale=1.0, refund_rate=0.16, cancel_rate=0.04, price_label="吊牌价",
        products=(
            P("轻薄羽绒服", ("S", "M", "L", "XL"), (199, 699), "女装/羽绒服", ("90白鸭绒", "连帽", "短款", "保暖不臃肿")),
            P("加绒卫衣", ("M", "L", "XL", "2XL"), (69, 199), "男装/卫衣", ("宽松版型", "圆领", "秋冬款", "情侣款")),
            P("纯棉T恤", ("S", "M", "L", "XL"), (29, 99), "男装/T恤", ("新疆长绒棉", "重磅", "不易变形", "纯色打底")),
            P("高腰牛仔裤", ("25", "26", "27", "28", "29"), (89, 259), "女装/牛仔裤", ("直筒", "显瘦", "微弹", "九分")),
            P("运动跑鞋", ("38", "39", "40", "41", "42", "43"), (159, 599), "运动鞋/跑步鞋", ("缓震", "透气网面", "轻量", "防滑耐磨")),
            P("羊毛混纺大衣", ("S", "M", "L"), (399, 1299), "女装/毛呢外套", ("双面呢", "中长款", "翻领", "通勤")),
            P("保暖内衣套装", ("M", "L", "XL"), (59, 159), "内衣/保暖套装", ("德绒", "无痕", "发热面料", "秋衣秋裤")),
            P("雪地靴", ("36", "37", "38", "39", "40"), (129, 359), "女鞋/雪地靴", ("加厚羊毛", "防滑底", "短筒", "一脚蹬")),
            P("针织开衫", ("S", "M", "L"), (99, 299), "女装/毛衣", ("软糯", "V领", "慵懒风", "百搭")),
        ),
        lines=(
            "面料成分请以吊牌标注为准。",
            "尺码建议：身高165体重50kg选M码，偏胖建议拍大一码。",
            "洗涤建议：冷水手洗，不可漂白，平铺晾干。",
            "模特身高172cm，试穿M码。",
            "由于拍摄光线不同，实物颜色可能存在轻微色差。",
            "支持7天无理由退换，退换请保持吊牌完好。",
        ),
        tips=(
            "最好先量好平时穿的衣服尺寸再下单，避免来回换货。",
            "第一次穿着前建议先清洗一遍。",
            "最近降温，加厚款库存较多，可放心选购。",
            "新人首单立减5元，领券后下单更划算。",
            "最多限购2件，满足更多顾客需要。",
        ),
    ),
    Category(
        std="食品", root="食品饮料", goods_cat="食品", merchant_share=0.17,
        order_scale=1.2, refund_rate=0.04, cancel_rate=0.03, licence="食品经营许可证",
        products=(
            P("每日坚果", ("750g/30袋", "500g/20袋"), (59, 139), "休闲零食/坚果炒货", ("混合果仁", "独立小包装", "原味烘焙", "办公室零食")),
            P("手撕牛肉干", ("250g", "500g"), (39, 109), "休闲零食/肉干肉脯", ("内蒙古风味", "香辣", "五香", "独立包装")),
            P("螺蛳粉", ("330g*5袋",), (39, 69), "方便速食/米粉", ("柳州风味", "酸笋加量", "煮食", "夜宵")),
            P("挂耳咖啡", ("10g*30包",), (49, 99), "冲饮/咖啡", ("中度烘焙", "现磨", "云南豆", "黑咖啡")),
            P("五常大米", ("5kg", "10kg"), (49, 139), "粮油米面/大米", ("当季新米", "稻花香", "真空包装", "软糯")),
            P("特级初榨橄榄油", ("1L", "500ml*2瓶"), (69, 169), "粮油米面/食用油", ("西班牙进口", "冷压", "凉拌", "低温储存")),
            P("土蜂蜜", ("500g",), (39, 89), "冲饮/蜂蜜", ("百花蜜", "农家自产", "玻璃瓶装", "结晶正常")),
            P("即食燕麦片", ("1kg",), (19, 49), "冲饮/麦片", ("无蔗糖添加", "早餐", "即冲即食", "大桶装")),
            P("西湖龙井", ("250g罐装", "100g礼盒"), (168, 598), "茶叶/绿茶", ("明前采摘", "豆香", "手工炒制", "送礼")),
            P("苏式月饼", ("8枚礼盒",), (49, 129), "糕点/月饼", ("酥皮", "五仁", "鲜肉", "传统工艺")),
            P("海苔脆片", ("40g*6袋",), (19, 39), "休闲零食/膨化", ("夹心", "儿童零食", "香脆", "小包装")),
            P("一级压榨花生油", ("5L",), (79, 149), "粮油米面/食用油", ("物理压榨", "浓香", "家庭装", "非转基因")),
        ),
        lines=(
            "配料表请以外包装标注为准，过敏体质请先查看配料。",
            "保质期12个月，生产日期见包装。",
            "请存放于阴凉干燥处，避免阳光直射。",
            "产品为预包装食品，下单后48小时内发货。",
            "食品类商品拆封后不支持无理由退货，请谅解。",
        ),
        tips=(
            "最佳食用期为开封后7天内，请密封保存。",
            "每件商品附唯一标识溯源码，扫码可查产地与批次。",
            "最近天气干燥，开封后请尽快食用。",
            "新人首单立减5元，最高立减20元。",
            "第一次购买的朋友建议先买小规格尝尝口味。",
        ),
    ),
    Category(
        std="家居日用", root="家居日用", goods_cat="日用商品", merchant_share=0.14,
        order_scale=1.0, refund_rate=0.06, cancel_rate=0.03,
        products=(
            P("全棉四件套", ("1.5m床", "1.8m床"), (159, 499), "床上用品/四件套", ("A类面料", "亲肤", "简约北欧风", "可机洗")),
            P("记忆棉枕头", ("60*40cm",), (59, 199), "床上用品/枕头", ("慢回弹", "护颈曲线", "可拆洗枕套", "透气")),
            P("收纳箱", ("3只装", "5只装"), (39, 99), "收纳整理/收纳箱", ("加厚", "可叠加", "透明可视", "带轮")),
            P("香薰蜡烛", ("200g",), (39, 129), "家居饰品/香薰", ("大豆蜡", "木质香调", "礼盒装", "卧室")),
            P("感应小夜灯", ("2只装",), (29, 69), "灯具/小夜灯", ("人体感应", "暖光", "USB充电", "磁吸安装")),
            P("原木抽纸", ("24包整箱",), (29, 59), "纸品/抽纸", ("3层加厚", "无香", "母婴可用", "整箱")),
            P("洗衣凝珠", ("52颗",), (29, 79), "清洁用品/洗衣", ("三合一", "留香", "低泡", "机洗")),
            P("316不锈钢保温杯", ("500ml",), (59, 169), "餐饮具/保温杯", ("长效保温", "一键开盖", "轻量", "便携")),
            P("平板拖把", ("1拖3布",), (39, 99), "清洁工具/拖把", ("免手洗", "360度旋转", "干湿两用", "挤水")),
        ),
        lines=(
            "尺寸为平铺测量，存在1-2cm误差属于正常范围。",
            "支持7天无理由退货，破损包赔。",
            "下单后48小时内发货，偏远地区物流稍慢。",
            "清洁时请使用中性清洁剂。",
        ),
        tips=(
            "可叠加设计，最大化利用衣柜空间。",
            "治愈系木质香调，下班回家放松一下。",
            "暖光不刺眼，治愈系的小夜灯。",
            "最好先量好床的尺寸再选择规格。",
            "最近新到一批现货，颜色齐全。",
        ),
    ),
    Category(
        std="化妆品", root="美妆个护", goods_cat="化妆品", merchant_share=0.12,
        order_scale=1.0, refund_rate=0.07, cancel_rate=0.04, licence="化妆品备案",
        products=(
            P("保湿面霜", ("50g",), (89, 299), "面部护理/面霜", ("补水保湿", "修护屏障", "滋润不黏腻", "秋冬")),
            P("精华液", ("30ml",), (129, 459), "面部护理/精华", ("烟酰胺", "提亮肤色", "质地清爽", "早晚可用")),
            P("防晒霜", ("50ml",), (79, 199), "面部护理/防晒", ("SPF50+", "PA++++", "清爽不油腻", "户外")),
            P("氨基酸洗面奶", ("100g",), (39, 99), "面部护理/洁面", ("温和", "绵密泡沫", "不紧绷", "男女通用")),
            P("补水面膜", ("10片装",), (49, 129), "面部护理/面膜", ("玻尿酸", "服帖", "精华充足", "独立包装")),
            P("哑光口红", ("3.5g",), (69, 269), "彩妆/口红", ("丝绒质地", "显白", "不易沾杯", "秋冬色")),
            P("身体乳", ("400ml",), (49, 129), "身体护理/身体乳", ("保湿滋润", "果香", "秋冬干燥", "大瓶装")),
            P("卸妆水", ("500ml",), (49, 139), "面部护理/卸妆", ("温和", "眼唇可用", "清爽", "大容量")),
        ),
        lines=(
            "化妆品备案信息可在国家药监局网站查询。",
            "敏感肌建议先在耳后或手腕内侧试用。",
            "如出现不适请立即停止使用。",
            "请置于儿童接触不到的地方，避免阳光直射。",
            "限期使用日期见包装。",
        ),
        tips=(
            "使用方法：第一步洁面，第二步取适量均匀涂抹于面部，轻拍至吸收。",
            "最佳使用方法是洁面后趁皮肤微湿时涂抹。",
            "最近天气干燥，可以搭配面膜一起使用。",
            "第一次使用建议先做局部试用。",
            "新人首单立减10元，最高立减20元。",
        ),
    ),
    Category(
        std="数码家电", root="数码家电", goods_cat="家用电子电器", merchant_share=0.10,
        order_scale=0.6, refund_rate=0.06, cancel_rate=0.05,
        products=(
            P("降噪蓝牙耳机", ("白色", "黑色"), (129, 699), "影音/耳机", ("主动降噪", "长续航", "低延迟", "入耳式")),
            P("充电宝", ("20000mAh",), (79, 199), "手机配件/移动电源", ("22.5W快充", "自带线", "可上飞机", "轻薄")),
            P("机械键盘", ("87键", "104键"), (159, 599), "电脑外设/键盘", ("热插拔", "RGB背光", "三模连接", "茶轴")),
            P("空气炸锅", ("5L",), (199, 499), "厨房电器/空气炸锅", ("可视窗口", "无油低脂", "智能控温", "易清洗")),
            P("电热水壶", ("1.7L",), (69, 199), "厨房电器/电水壶", ("304不锈钢", "自动断电", "保温", "快速烧水")),
            P("扫地机器人", ("标准版",), (999, 2999), "生活电器/扫地机", ("激光导航", "扫拖一体", "自动集尘", "APP控制")),
            P("无线路由器", ("AX3000",), (199, 499), "网络设备/路由器", ("WiFi6", "双频", "穿墙", "Mesh组网")),
            P("家用NAS存储", ("2盘位",), (999, 2599), "网络设备/NAS", ("远程访问", "相册备份", "RAID1", "低功耗")),
            P("电动牙刷", ("标准版",), (99, 399), "个护电器/电动牙刷", ("声波震动", "多档模式", "长续航", "软毛刷头")),
        ),
        lines=(
            "全国联保一年，支持7天无理由退货。",
            "请使用原装充电器充电。",
            "具体参数以实物为准。",
            "下单后24小时内发货，顺丰包邮。",
        ),
        tips=(
            "第一次使用请先充满电。",
            "路由器内置防病毒防火墙，可拦截恶意网址。",
            "支持绑定自有顶级域名远程访问家中设备。",
            "最近发货量较大，节假日可能延迟1-2天。",
            "每台设备都有唯一标识序列号，可在官网查询保修。",
            "设置最后一步：在APP里完成配网。",
        ),
    ),
    Category(
        std="母婴用品", root="母婴", goods_cat="儿童用品", merchant_share=0.06,
        order_scale=1.0, refund_rate=0.05, cancel_rate=0.03,
        products=(
            P("婴儿纸尿裤", ("S码", "M码", "L码", "XL码"), (89, 189), "尿裤湿巾/纸尿裤", ("超薄透气", "大吸量", "柔软", "整箱")),
            P("婴儿湿巾", ("80抽*10包",), (39, 79), "尿裤湿巾/湿巾", ("手口可用", "加厚", "无香", "带盖")),
            P("宽口径奶瓶", ("240ml",), (59, 159), "喂养用品/奶瓶", ("PPSU材质", "防胀气", "耐摔", "宽口径")),
            P("轻便婴儿推车", ("标准款",), (399, 1299), "童车/推车", ("可坐可躺", "一键收车", "避震", "可登机")),
            P("儿童安全座椅", ("9个月-12岁",), (599, 1999), "出行/安全座椅", ("ISOFIX接口", "可调节", "侧撞保护", "3C认证")),
        ),
        lines=(
            "本品已通过3C认证，认证编号见商品图片。",
            "使用前请仔细阅读说明书。",
            "支持7天无理由退货，未拆封可退。",
        ),
        tips=(
            "第一次使用前请用温水清洗。",
            "新手爸妈最好先看一遍安装视频。",
            "最近出生的宝宝建议选NB或S码。",
        ),
    ),
    Category(
        std="保健食品", root="保健品", goods_cat="保健食品", merchant_share=0.05,
        order_scale=0.8, refund_rate=0.04, cancel_rate=0.03, licence="保健食品注册证书",
        products=(
            P("维生素C咀嚼片", ("60片",), (39, 99), "维生素/维C", ("甜橙味", "咀嚼片", "家庭装"), indication="补充维生素C"),
            P("深海鱼油软胶囊", ("100粒",), (69, 199), "鱼油/卵磷脂", ("软胶囊", "进口原料", "成人"), indication="有助于维持血脂健康水平"),
            P("乳清蛋白粉", ("400g",), (99, 299), "蛋白粉/营养粉", ("乳清蛋白", "冲饮", "中老年"), indication="有助于增强免疫力"),
            P("钙维生素D咀嚼片", ("90片",), (49, 129), "钙/维生素D", ("牛奶味", "中老年", "咀嚼片"), indication="补充钙、维生素D"),
            P("褪黑素维生素B6片", ("60片",), (39, 89), "助眠/褪黑素", ("小片", "成人"), indication="有助于改善睡眠"),
            P("辅酶Q10软胶囊", ("60粒",), (99, 259), "辅酶Q10", ("软胶囊", "成人"), indication="有助于增强免疫力"),
        ),
        lines=(
            "【适宜人群】成人。",
            "【不适宜人群】少年儿童、孕妇、乳母。",
            "【食用方法及食用量】每日1次，每次1片。",
            "【贮藏方法】密封，置阴凉干燥处。",
        ),
        tips=(
            "建议饭后半小时食用，最佳食用期见包装。",
            "最近购买的顾客较多，按下单顺序发货。",
            "第一次服用建议从推荐量开始。",
        ),
    ),
    Category(
        std="食用农产品", root="生鲜水果", goods_cat="食用农产品", merchant_share=0.05,
        order_scale=1.1, refund_rate=0.07, cancel_rate=0.03,
        products=(
            P("赣南脐橙", ("5斤装", "9斤装"), (29, 69), "水果/橙子", ("现摘现发", "果径75mm+", "甜度高", "产地直发")),
            P("红富士苹果", ("5斤装", "10斤装"), (29, 79), "水果/苹果", ("烟台产区", "脆甜", "一级果", "产地直发")),
            P("土鸡蛋", ("30枚",), (39, 69), "蛋类/鸡蛋", ("农家散养", "新鲜", "防震包装", "现捡现发")),
            P("东北黑木耳", ("250g",), (29, 69), "干货/木耳", ("秋耳", "肉厚", "无根", "泡发率高")),
            P("大闸蟹礼券", ("公4两母3两 8只",), (199, 599), "水产/螃蟹", ("鲜活", "提货券", "顺丰冷链", "送礼")),
        ),
        lines=(
            "生鲜商品签收后请及时查看，如有坏果请拍照联系客服。",
            "产地直发，冷链或泡沫箱包装。",
            "单果重量存在差异，按箱重计量。",
        ),
        tips=(
            "最佳赏味期为收货后5天内。",
            "最近产地下雨，发货可能延迟一天。",
            "第一批采摘的新果，数量有限。",
        ),
    ),
    Category(
        std="药品", root="医药", goods_cat="医药及医疗用品", merchant_share=0.03,
        order_scale=0.7, refund_rate=0.02, cancel_rate=0.04, licence="药品网络销售备案",
        products=(
            P("布洛芬缓释胶囊", ("0.3g*20粒",), (15, 35), "OTC/解热镇痛", ("OTC", "缓释"), indication="用于缓解轻至中度疼痛如头痛、关节痛、偏头痛、牙痛、肌肉痛、神经痛、痛经，也用于普通感冒或流行性感冒引起的发热"),
            P("氯雷他定片", ("10mg*6片",), (15, 39), "OTC/抗过敏", ("OTC",), indication="用于缓解过敏性鼻炎有关的症状，如喷嚏、流涕、鼻痒、鼻塞以及眼部痒及烧灼感"),
            P("蒙脱石散", ("3g*10袋",), (15, 35), "OTC/肠胃用药", ("OTC",), indication="用于成人及儿童急、慢性腹泻"),
            P("板蓝根颗粒", ("10g*20袋",), (12, 29), "OTC/感冒用药", ("OTC",), indication="清热解毒，凉血利咽。用于肺胃热盛所致的咽喉肿痛、口咽干燥"),
            P("维生素B族片", ("100片",), (15, 39), "OTC/维生素", ("OTC",), indication="用于预防和治疗B族维生素缺乏症"),
        ),
        lines=(
            "【用法用量】请仔细阅读说明书并按说明使用或在药师指导下购买和使用。",
            "【不良反应】详见说明书。",
            "【贮藏】遮光，密封保存。",
            "药品为特殊商品，非质量问题不支持退换。",
        ),
        tips=(
            "最近咨询较多，执业药师在线时间为9:00-21:00。",
            "首次购买请先咨询药师。",
        ),
    ),
    Category(
        std="医疗器械", root="医疗器械", goods_cat="医药及医疗用品", merchant_share=0.03,
        order_scale=0.8, refund_rate=0.03, cancel_rate=0.03, licence="医疗器械注册证",
        products=(
            P("电子血压计", ("上臂式",), (129, 399), "家用器械/血压计", ("一键测量", "语音播报", "大屏"), indication="供成人测量血压及脉率使用"),
            P("医用外科口罩", ("50只/盒",), (19, 49), "防护用品/口罩", ("三层防护", "独立包装"), indication="供临床医务人员在有创操作等过程中佩戴"),
            P("红外额温枪", ("标准款",), (69, 199), "家用器械/体温计", ("一秒测温", "静音模式"), indication="用于测量人体额头温度"),
            P("血糖试纸", ("50片",), (59, 149), "家用器械/血糖", ("配套血糖仪", "独立包装"), indication="与配套血糖仪配合使用，用于测量毛细血管全血中的葡萄糖浓度"),
        ),
        lines=(
            "请仔细阅读产品说明书或者在医务人员的指导下购买和使用。",
            "禁忌内容或者注意事项详见说明书。",
            "下单后48小时内发货。",
        ),
        tips=(
            "第一次使用前请阅读操作视频。",
            "最近订单较多，发货可能延迟1天。",
        ),
    ),
    Category(
        std="婴幼儿配方食品", root="母婴", goods_cat="食品", merchant_share=0.01,
        order_scale=0.9, refund_rate=0.03, cancel_rate=0.03, licence="婴幼儿配方乳粉产品配方注册证书",
        products=(
            P("婴儿配方奶粉1段", ("800g",), (189, 349), "奶粉/1段", ("0-6月龄", "罐装"), indication="适用于0-6月龄婴儿"),
            P("较大婴儿配方奶粉2段", ("800g",), (179, 339), "奶粉/2段", ("6-12月龄", "罐装"), indication="适用于6-12月龄较大婴儿"),
            P("幼儿配方奶粉3段", ("800g",), (159, 319), "奶粉/3段", ("12-36月龄", "罐装"), indication="适用于12-36月龄幼儿"),
        ),
        lines=(
            "请按照罐内说明冲调，冲调水温40-50℃。",
            "开罐后请在4周内食用完毕。",
            "对于0-6月龄的婴儿最理想的食品是母乳，在母乳不足或无母乳时可食用本产品。",
        ),
        tips=(
            "第一次转奶建议循序渐进。",
            "每罐底部有唯一标识追溯码。",
        ),
    ),
)

CATEGORY_BY_STD: dict[str, Category] = {c.std: c for c in CATEGORIES}

# Categories where medical or efficacy wording is never lawful in an ad (AD-02).
NON_MEDICAL = ("食品", "化妆品", "家居日用", "服装鞋帽", "母婴用品", "保健食品", "食用农产品", "数码家电")
MEDICAL = ("药品", "医疗器械")

SHIPPING_LINES = (
    "默认中通/圆通快递，江浙沪次日达。",
    "双11期间订单量大，我们会按付款顺序尽快发出。",
    "如有任何问题请联系在线客服，工作时间9:00-23:00。",
    "发票可在订单详情页申请。",
)

SUBTITLES = (
    "下单立减10元 | 48小时发货",
    "新人首单立减5元",
    "最高立减20元 限时满减",
    "满199减30 跨店可用",
    "双11狂欢价 运费险",
    "官方正品 假一赔三",
    "7天无理由退货",
    "顺丰包邮 次日达",
    "",
    "",
)

TITLE_TAGS = ("【双11】", "【现货】", "【官方正品】", "【新品】", "", "", "", "")

# Invented shop-name building blocks.
_ZIHAO_CHARS = (
    "禾悦云杉森野初颜绮雪鹿川沐溪晴芸朗嘉和瑞宸锦澜知味栖柚橙麦谷青岚星辰望舒恬简素木岩泉峰"
    "安宁乐康泰明远蓝湾竹松梧桐若水一方小满拾光暖阳"
)
_FIXED_BRANDS = ("极客派", "小鹿妈妈", "山野记", "初颜", "绮雪", "良品汇", "云杉家居", "暖阳日记", "拾光小铺")
_INDUSTRY = {
    "服装鞋帽": "服饰", "食品": "食品", "家居日用": "家居用品", "化妆品": "化妆品", "数码家电": "电子科技",
    "母婴用品": "母婴用品", "保健食品": "健康科技", "食用农产品": "农业", "药品": "大药房", "医疗器械": "医疗器械",
    "婴幼儿配方食品": "乳业",
}
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
_GIVEN = ("小美", "阿强", "晓燕", "丽丽", "大伟", "婷婷", "小军", "芳芳", "阿亮", "小雨")


@dataclass(frozen=True)
class Region:
    """A 行政区划 with the text used in addresses."""

    code: str
    province_city: str
    city_short: str
    streets: tuple[str, ...]


HOME_REGIONS: tuple[tuple[Region, float], ...] = (
    (Region("330106", "浙江省杭州市西湖区", "杭州", ("文三路", "天目山路", "古墩路", "文一西路", "西溪路", "教工路")), 0.30),
    (Region("330108", "浙江省杭州市滨江区", "杭州", ("江南大道", "滨盛路", "网商路", "长河路", "江虹路")), 0.25),
    (Region("330110", "浙江省杭州市余杭区", "杭州", ("文一西路", "五常大道", "良睦路", "仓兴街", "向往街")), 0.20),
)
OTHER_REGIONS: tuple[tuple[Region, float], ...] = (
    (Region("330102", "浙江省杭州市上城区", "杭州", ("庆春路", "解放路", "钱江路")), 0.03),
    (Region("330105", "浙江省杭州市拱墅区", "杭州", ("湖墅南路", "莫干山路", "丽水路")), 0.03),
    (Region("330782", "浙江省金华市义乌市", "义乌", ("稠州北路", "城中中路", "福田路")), 0.03),
    (Region("440305", "广东省深圳市南山区", "深圳", ("科技园路", "南海大道", "后海大道")), 0.035),
    (Region("440106", "广东省广州市天河区", "广州", ("天河路", "体育西路", "黄埔大道")), 0.025),
    (Region("310115", "上海市浦东新区", "上海", ("张杨路", "世纪大道", "川沙路")), 0.03),
    (Region("110105", "北京市朝阳区", "北京", ("建国路", "望京街", "酒仙桥路")), 0.025),
    (Region("510107", "四川省成都市武侯区", "成都", ("人民南路", "科华北路", "天府大道")), 0.02),
    (Region("320508", "江苏省苏州市姑苏区", "苏州", ("干将路", "人民路", "十全街")), 0.015),
    (Region("350203", "福建省厦门市思明区", "厦门", ("湖滨南路", "厦禾路", "鹭江道")), 0.015),
    (Region("420106", "湖北省武汉市武昌区", "武汉", ("中南路", "武珞路", "和平大道")), 0.01),
    (Region("370102", "山东省济南市历下区", "济南", ("泉城路", "经十路", "历山路")), 0.01),
)

# Where complainants live: the home district and many places beyond it.
COMPLAINANT_REGIONS: tuple[str, ...] = (
    "330106", "330108", "330110", "330102", "330105", "330109", "330114", "330212", "330302", "330402",
    "320102", "320506", "310104", "310115", "110108", "110105", "440304", "440106", "510104", "420111",
    "430102", "350102", "370212", "410105", "610113", "500103", "120101", "210202", "340104", "360102",
)


def pick_weighted(rnd: random.Random, items: tuple[tuple[object, float], ...]) -> object:
    """One item from ``(item, weight)`` pairs, deterministic for the ``rnd`` state."""
    total = sum(w for _, w in items)
    x = rnd.random() * total
    for item, w in items:
        x -= w
        if x < 0:
            return item
    return items[-1][0]


def zihao(rnd: random.Random) -> str:
    """An invented two-character trade name (字号)."""
    a = rnd.choice(_ZIHAO_CHARS)
    b = rnd.choice(_ZIHAO_CHARS)
    while b == a:
        b = rnd.choice(_ZIHAO_CHARS)
    return a + b


def brand_name(rnd: random.Random) -> str:
    """An invented brand (sometimes one of a few fixed ones such as 极客派)."""
    if rnd.random() < 0.08:
        return rnd.choice(_FIXED_BRANDS)
    return zihao(rnd)


def company_name(rnd: random.Random, city: str, std: str, zh: str) -> str:
    """Registered company name, e.g. 杭州禾悦食品有限公司."""
    industry = _INDUSTRY.get(std, "商贸")
    if industry == "大药房":
        return f"{city}{zh}大药房连锁有限公司"
    kind = rnd.choice(("有限公司", "有限公司", "有限公司", "电子商务有限公司", "贸易有限公司"))
    if kind != "有限公司":
        return f"{city}{zh}{kind}"
    return f"{city}{zh}{industry}有限公司"


def shop_name(rnd: random.Random, brand: str, std: str, zh: str, natural_person: bool) -> str:
    """Shop name as shown on the platform."""
    if natural_person:
        return f"{rnd.choice(_SURNAMES)}{rnd.choice(_GIVEN)}的小店"
    x = rnd.random()
    if x < 0.35:
        return f"{brand}官方旗舰店"
    if x < 0.55:
        return f"{brand}{_INDUSTRY.get(std, '')}专营店".replace("大药房专营店", "大药房旗舰店")
    if x < 0.8:
        return f"{zh}{std[:2]}优选"
    return f"{zh}生活馆"


def nice_price(x: float) -> float:
    """Round a raw price to a shop-style price (19.9, 59, 199, 1299 …)."""
    if x < 10:
        return round(max(1.9, int(x) + 0.9), 2)
    if x < 100:
        v = int(x)
        return float(v - v % 10 + 9) if v % 10 >= 5 else round(v - v % 10 - 0.1, 2)
    if x < 1000:
        return float(int(x / 10) * 10 + 9)
    return float(int(x / 100) * 100 + 99)


def licence_no(rnd: random.Random, kind: str, region: str) -> str:
    """A plausible-looking number for a licence or filing of ``kind``."""
    d = lambda n: "".join(rnd.choice("0123456789") for _ in range(n))  # noqa: E731
    if kind == "食品经营许可证":
        return f"JY1{region}{d(7)}"
    if kind == "仅销售预包装食品备案":
        return f"YB1{region}{d(7)}"
    if kind == "保健食品注册证书":
        return f"国食健注G{rnd.randint(2016, 2024)}{d(4)}"
    if kind == "化妆品备案":
        return f"浙G妆网备字{rnd.randint(2020, 2025)}{d(6)}"
    if kind == "药品网络销售备案":
        return f"国药准字H{rnd.choice(('2005', '2010', '2019', '3302'))}{d(4)}"
    if kind == "医疗器械注册证":
        return f"浙械注准{rnd.randint(2019, 2025)}2{d(6)}"
    if kind == "婴幼儿配方乳粉产品配方注册证书":
        return f"国食注字YP{rnd.randint(2017, 2024)}{d(4)}"
    return d(12)
