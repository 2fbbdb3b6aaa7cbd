//! Word lists of the data generator: realistic Chinese and Latin names, organisations with
//! legal suffixes, places. Small on purpose: variety comes from combining them.

/// Common Chinese surnames with their pinyin.
pub const CN_SURNAMES: &[(&str, &str)] = &[
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("黄", "huang"),
    ("赵", "zhao"),
    ("吴", "wu"),
    ("周", "zhou"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("马", "ma"),
    ("朱", "zhu"),
    ("胡", "hu"),
    ("郭", "guo"),
    ("何", "he"),
    ("高", "gao"),
    ("林", "lin"),
    ("罗", "luo"),
    ("郑", "zheng"),
    ("梁", "liang"),
    ("谢", "xie"),
    ("宋", "song"),
    ("唐", "tang"),
    ("许", "xu"),
    ("韩", "han"),
    ("冯", "feng"),
    ("邓", "deng"),
    ("曹", "cao"),
    ("欧阳", "ouyang"),
    ("司马", "sima"),
];

/// Characters of Chinese given names with their pinyin.
pub const CN_GIVEN: &[(&str, &str)] = &[
    ("伟", "wei"),
    ("芳", "fang"),
    ("娜", "na"),
    ("敏", "min"),
    ("静", "jing"),
    ("丽", "li"),
    ("强", "qiang"),
    ("磊", "lei"),
    ("军", "jun"),
    ("洋", "yang"),
    ("勇", "yong"),
    ("艳", "yan"),
    ("杰", "jie"),
    ("娟", "juan"),
    ("涛", "tao"),
    ("明", "ming"),
    ("超", "chao"),
    ("秀英", "xiuying"),
    ("霞", "xia"),
    ("平", "ping"),
    ("刚", "gang"),
    ("桂英", "guiying"),
    ("晓", "xiao"),
    ("红", "hong"),
    ("华", "hua"),
    ("建国", "jianguo"),
    ("婷", "ting"),
    ("鹏", "peng"),
    ("宇", "yu"),
    ("欣", "xin"),
];

/// Latin first names.
pub const FIRST_NAMES: &[&str] = &[
    "Anna",
    "Lukas",
    "Maria",
    "Jonas",
    "Sophie",
    "Felix",
    "Emma",
    "Paul",
    "Laura",
    "David",
    "Sarah",
    "Michael",
    "Julia",
    "Thomas",
    "Lena",
    "James",
    "Olivia",
    "William",
    "Emily",
    "Henry",
    "Charlotte",
    "Jean",
    "Camille",
    "Luca",
    "Giulia",
    "Pedro",
    "Ana",
    "Jan",
    "Eva",
    "Noah",
];

/// Latin last names.
pub const LAST_NAMES: &[&str] = &[
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Martin",
    "Bernard",
    "Dubois",
    "Rossi",
    "Russo",
    "García",
    "Fernández",
    "de Vries",
    "Jansen",
    "O'Brien",
    "Kowalski",
    "Novak",
    "Andersson",
    "Nielsen",
    "Horvát",
];

/// Chinese organisation name parts: place, brand word, line of business, legal form.
pub const CN_ORG_PLACES: &[&str] = &[
    "上海", "北京", "深圳", "杭州", "广州", "成都", "苏州", "南京", "武汉", "西安",
];
pub const CN_ORG_WORDS: &[&str] = &[
    "华信", "恒通", "博远", "新锐", "瑞丰", "金桥", "天成", "宏达", "中科", "鼎盛", "正泰", "汇川",
];
pub const CN_ORG_LINES: &[&str] = &[
    "科技",
    "贸易",
    "电子",
    "物流",
    "医药",
    "机械",
    "食品",
    "信息技术",
    "建材",
    "文化传媒",
];
pub const CN_ORG_FORMS: &[&str] = &["有限公司", "股份有限公司", "有限责任公司"];

/// Latin organisation name parts.
pub const ORG_WORDS: &[&str] = &[
    "Acme",
    "Nordwind",
    "Blue River",
    "Alpenglow",
    "Brightline",
    "Kestrel",
    "Harbor",
    "Summit",
    "Vireo",
    "Granite",
    "Lumen",
    "Oakridge",
    "Polaris",
    "Redwood",
    "Sterling",
    "Tidewater",
];
pub const ORG_LINES: &[&str] = &[
    "Systems",
    "Logistics",
    "Foods",
    "Medical",
    "Software",
    "Trading",
    "Industries",
    "Consulting",
];
pub const ORG_FORMS: &[&str] = &["GmbH", "AG", "Ltd", "Inc.", "LLC", "S.A.", "B.V.", "SE"];

/// Places: country code, city, streets, postal code prefix, phone country code.
pub struct Place {
    pub country: &'static str,
    pub city: &'static str,
    pub streets: &'static [&'static str],
    pub postal: &'static str,
    pub phone_cc: &'static str,
    pub currency: &'static str,
}

pub const PLACES: &[Place] = &[
    Place {
        country: "CN",
        city: "上海市",
        streets: &["浦东新区世纪大道", "徐汇区漕溪北路", "静安区南京西路"],
        postal: "200",
        phone_cc: "86",
        currency: "CNY",
    },
    Place {
        country: "CN",
        city: "北京市",
        streets: &["朝阳区建国路", "海淀区中关村大街", "东城区王府井大街"],
        postal: "100",
        phone_cc: "86",
        currency: "CNY",
    },
    Place {
        country: "CN",
        city: "深圳市",
        streets: &["南山区科技园路", "福田区深南大道"],
        postal: "518",
        phone_cc: "86",
        currency: "CNY",
    },
    Place {
        country: "DE",
        city: "Berlin",
        streets: &["Friedrichstraße", "Karl-Marx-Allee", "Unter den Linden"],
        postal: "10",
        phone_cc: "49",
        currency: "EUR",
    },
    Place {
        country: "DE",
        city: "München",
        streets: &["Leopoldstraße", "Sendlinger Straße"],
        postal: "80",
        phone_cc: "49",
        currency: "EUR",
    },
    Place {
        country: "GB",
        city: "London",
        streets: &["Baker Street", "Oxford Street", "King's Road"],
        postal: "W1",
        phone_cc: "44",
        currency: "GBP",
    },
    Place {
        country: "US",
        city: "San Francisco",
        streets: &["Market Street", "Mission Street"],
        postal: "941",
        phone_cc: "1",
        currency: "USD",
    },
    Place {
        country: "FR",
        city: "Paris",
        streets: &["Rue de Rivoli", "Avenue des Champs-Élysées"],
        postal: "750",
        phone_cc: "33",
        currency: "EUR",
    },
];

/// Free-mail and company domains.
pub const MAIL_DOMAINS: &[&str] = &[
    "qq.com",
    "163.com",
    "gmail.com",
    "outlook.com",
    "web.de",
    "example.com",
    "mail.example.cn",
];

/// Tags, source channels, interaction subjects, products.
pub const TAGS: &[&str] = &[
    "vip",
    "wholesale",
    "retail",
    "newsletter",
    "trade-show-2025",
    "key-account",
    "online",
    "returning",
];
pub const CHANNELS: &[&str] = &[
    "WEB_FORM",
    "SOCIAL",
    "STORE",
    "TRADE_SHOW",
    "REFERRAL",
    "E_COMMERCE",
    "ERP_IMPORT",
    "MANUAL",
];
pub const SUBJECTS: &[&str] = &[
    "首次拜访",
    "报价跟进",
    "Follow-up call",
    "Contract renewal",
    "售后回访",
    "Demo meeting",
    "Complaint follow-up",
];
pub const PRODUCTS: &[(&str, i64)] = &[
    ("CRM-SEAT", 9_900),
    ("SUPPORT-GOLD", 49_900),
    ("TRAINING-DAY", 120_000),
    ("ADDON-SMS", 1_500),
    ("HW-SCANNER", 35_000),
];
