//! Value pools for the synthetic generator. Chinese entries carry their
//! pinyin so the generator romanises independently of the matcher's code.

pub const FIRST_NAMES: &[&str] = &[
    "John", "Mary", "James", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William",
    "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Christopher", "Nancy", "Daniel", "Lisa", "Matthew", "Margaret", "Anthony",
    "Sandra", "Mark", "Ashley", "Steven", "Kimberly", "Paul", "Emily", "Andrew", "Donna", "Joshua",
    "Michelle", "Kenneth", "Carol", "Kevin", "Amanda", "Brian", "Melissa", "George", "Deborah",
    "Timothy", "Stephanie", "Ronald", "Rebecca", "Edward", "Sharon", "Jason", "Laura", "Jeffrey",
    "Cynthia", "Ryan", "Kathleen", "Jacob", "Amy", "Gary", "Angela", "Nicholas", "Shirley", "Eric",
    "Anna", "Jonathan", "Brenda", "Stephen", "Pamela", "Larry", "Emma", "Justin", "Nicole", "Scott",
    "Helen", "Brandon", "Samantha", "Benjamin", "Katharina", "Lukas", "Sophie", "Maximilian",
    "Lea", "Felix", "Hannah", "Jonas", "Julia", "Leon", "Lena", "Paul", "Marie", "Finn", "Clara",
    "José", "François", "Zoë", "Søren", "Łukasz", "Renée", "Jürgen", "Agnès", "Björn", "Inés",
    "Mateo", "Lucía", "Giulia", "Alessandro", "Chiara", "Matteo", "Olga", "Dmitri", "Ingrid",
    "Lars", "Astrid", "Henrik", "Freya", "Pierre", "Camille", "Antoine", "Élodie", "Hugo",
];

pub const LAST_NAMES: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark",
    "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres",
    "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell",
    "Mitchell", "Carter", "Roberts", "Müller", "Schmidt", "Schneider", "Fischer", "Weber",
    "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter",
    "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann",
    "Hartmann", "Lange", "Schmitt", "Werner", "Krause", "Meier", "Lehmann", "Dubois", "Lefèvre",
    "Moreau", "Laurent", "Simon", "Michel", "Lefebvre", "Leroy", "Roux", "Fournier", "Girard",
    "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino",
    "Greco", "Núñez", "Fernández", "Gómez", "Díaz", "Álvarez", "Jiménez", "Ruiz", "Navarro",
    "O'Brien", "O'Connor", "McCarthy", "Kelly", "Murphy", "Walsh", "Byrne", "Ryan", "Andersson",
    "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsen", "Jensen", "Nielsen", "Hansen",
    "Kowalski", "Nowak", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski",
    "Yilmaz", "Kaya", "Demir", "Şahin", "Çelik", "Novák", "Dvořák", "Horváth", "Kovács",
];

/// (surname, pinyin)
pub const CN_SURNAMES: &[(&str, &str)] = &[
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
    ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("高", "gao"),
    ("林", "lin"), ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"),
    ("唐", "tang"), ("许", "xu"), ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"),
    ("彭", "peng"), ("曾", "zeng"), ("肖", "xiao"), ("田", "tian"), ("董", "dong"), ("袁", "yuan"),
    ("潘", "pan"), ("于", "yu"), ("蒋", "jiang"), ("蔡", "cai"), ("余", "yu"), ("杜", "du"),
    ("叶", "ye"), ("程", "cheng"), ("苏", "su"), ("魏", "wei"), ("吕", "lu"), ("丁", "ding"),
    ("任", "ren"), ("沈", "shen"), ("姚", "yao"), ("卢", "lu"), ("姜", "jiang"), ("崔", "cui"),
    ("钟", "zhong"), ("谭", "tan"), ("陆", "lu"), ("汪", "wang"), ("范", "fan"), ("金", "jin"),
    ("石", "shi"), ("廖", "liao"), ("贾", "jia"), ("夏", "xia"), ("韦", "wei"), ("付", "fu"),
    ("方", "fang"), ("白", "bai"), ("邹", "zou"), ("孟", "meng"), ("熊", "xiong"), ("秦", "qin"),
    ("欧阳", "ouyang"), ("司马", "sima"), ("上官", "shangguan"),
];

/// (character, pinyin) for given names.
pub const CN_GIVEN: &[(&str, &str)] = &[
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"),
    ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"), ("艳", "yan"),
    ("杰", "jie"), ("娟", "juan"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("秀", "xiu"),
    ("霞", "xia"), ("平", "ping"), ("刚", "gang"), ("桂", "gui"), ("英", "ying"), ("华", "hua"),
    ("玉", "yu"), ("萍", "ping"), ("红", "hong"), ("玲", "ling"), ("兰", "lan"), ("斌", "bin"),
    ("浩", "hao"), ("凯", "kai"), ("鹏", "peng"), ("辉", "hui"), ("宇", "yu"), ("鑫", "xin"),
    ("婷", "ting"), ("雪", "xue"), ("琳", "lin"), ("晨", "chen"), ("欣", "xin"), ("然", "ran"),
    ("思", "si"), ("雨", "yu"), ("子", "zi"), ("涵", "han"), ("梓", "zi"), ("轩", "xuan"),
    ("博", "bo"), ("文", "wen"), ("晓", "xiao"), ("小", "xiao"), ("佳", "jia"), ("嘉", "jia"),
    ("俊", "jun"), ("志", "zhi"), ("建", "jian"), ("国", "guo"), ("海", "hai"), ("东", "dong"),
    ("林", "lin"), ("峰", "feng"), ("波", "bo"), ("宁", "ning"), ("倩", "qian"), ("颖", "ying"),
    ("慧", "hui"), ("瑶", "yao"), ("怡", "yi"), ("雅", "ya"), ("琪", "qi"), ("晶", "jing"),
    ("淑", "shu"), ("梅", "mei"), ("春", "chun"), ("秋", "qiu"), ("冬", "dong"), ("松", "song"),
    ("飞", "fei"), ("龙", "long"), ("凤", "feng"), ("云", "yun"), ("山", "shan"), ("天", "tian"),
    ("安", "an"), ("康", "kang"), ("泽", "ze"), ("铭", "ming"), ("宏", "hong"), ("毅", "yi"),
    ("坤", "kun"), ("帆", "fan"), ("航", "hang"), ("睿", "rui"), ("诚", "cheng"), ("哲", "zhe"),
    ("蕾", "lei"), ("薇", "wei"), ("莉", "li"), ("茜", "qian"), ("彤", "tong"), ("悦", "yue"),
];

pub const ORG_SYLLABLES: &[&str] = &[
    "ac", "me", "zen", "ith", "blu", "wa", "ve", "kor", "va", "tek", "lu", "mi", "nor", "dic",
    "sol", "ar", "is", "tra", "ven", "ox", "ly", "qua", "ri", "fer", "ton", "del", "ta", "pri",
    "mo", "gal", "ex", "sy", "ne", "ro", "bel", "cor", "dyn", "el", "fa", "gen", "hel", "in",
];

pub const ORG_INDUSTRIES: &[&str] = &[
    "Trading", "Logistics", "Software", "Consulting", "Foods", "Electronics", "Machinery",
    "Pharma", "Construction", "Media", "Energy", "Textiles", "Systems", "Solutions", "Holdings",
];

pub const ORG_SUFFIXES: &[&str] = &[
    "GmbH", "Ltd", "Ltd.", "Limited", "Co., Ltd.", "Inc.", "LLC", "S.A.", "S.p.A.", "B.V.", "AB",
    "Oy", "PLC", "Pty Ltd", "Corporation", "SARL", "AG", "Corp.", "Company",
];

/// (character, pinyin) for the distinctive part of Chinese firm names.
pub const CN_ORG_CHARS: &[(&str, &str)] = &[
    ("华", "hua"), ("信", "xin"), ("瑞", "rui"), ("泰", "tai"), ("恒", "heng"), ("达", "da"),
    ("联", "lian"), ("创", "chuang"), ("新", "xin"), ("盛", "sheng"), ("博", "bo"), ("通", "tong"),
    ("宏", "hong"), ("远", "yuan"), ("鼎", "ding"), ("鑫", "xin"), ("汇", "hui"), ("源", "yuan"),
    ("金", "jin"), ("天", "tian"), ("正", "zheng"), ("海", "hai"), ("佳", "jia"), ("美", "mei"),
    ("中", "zhong"), ("亿", "yi"), ("腾", "teng"), ("飞", "fei"), ("凯", "kai"), ("锐", "rui"),
    ("昌", "chang"), ("隆", "long"), ("丰", "feng"), ("安", "an"), ("康", "kang"), ("荣", "rong"),
];

pub const CN_ORG_INDUSTRIES: &[&str] = &[
    "科技", "贸易", "物流", "软件", "咨询", "食品", "电子", "机械", "医药", "建设", "传媒", "能源",
];

pub const CN_ORG_SUFFIXES: &[&str] = &["有限公司", "股份有限公司", "有限责任公司", "集团有限公司"];

/// (city, postal code prefix): codes are prefix + 2 random digits.
pub const CITIES: &[(&str, &str)] = &[
    ("Berlin", "101"), ("Hamburg", "201"), ("München", "803"), ("Köln", "506"),
    ("Frankfurt am Main", "603"), ("Stuttgart", "701"), ("Düsseldorf", "402"), ("Leipzig", "041"),
    ("Paris", "750"), ("Lyon", "690"), ("Milano", "201"), ("Roma", "001"), ("Madrid", "280"),
    ("Wien", "110"), ("Zürich", "800"), ("Amsterdam", "101"), ("Stockholm", "111"),
];


/// (city, 6-digit postal prefix of 4 digits)
pub const CN_CITIES: &[(&str, &str)] = &[
    ("北京", "1000"), ("上海", "2000"), ("广州", "5100"), ("深圳", "5180"), ("杭州", "3100"),
    ("成都", "6100"), ("武汉", "4300"), ("南京", "2100"), ("西安", "7100"), ("重庆", "4000"),
];

pub const CN_DISTRICTS: &[&str] = &["朝阳", "海淀", "东城", "西城", "浦东", "天河", "南山", "福田", "武侯", "江汉"];

pub const CN_ROADS: &[&str] = &["建国", "人民", "解放", "中山", "长江", "黄河", "和平", "胜利", "光明", "新华"];

pub const LATIN_MAIL_DOMAINS: &[&str] = &[
    "gmail.com", "outlook.com", "web.de", "gmx.de", "yahoo.com", "icloud.com", "mail.com",
    "orange.fr", "libero.it",
];

pub const CN_MAIL_DOMAINS: &[&str] = &["qq.com", "163.com", "126.com", "gmail.com", "sina.com"];

/// Street names are stem + type, so a city has many streets and a common
/// stem ("Garten…") exists in several types: near-miss streets.
pub const STREET_STEMS_DE: &[&str] = &[
    "Linden", "Birken", "Eichen", "Garten", "Schul", "Kirch", "Berg", "Wald", "Mühlen", "Rosen",
    "Park", "Bahnhof", "Schiller", "Goethe", "Mozart", "Beethoven", "Haupt", "Feld", "Wiesen", "Ahorn",
];
pub const STREET_TYPES_DE: &[&str] = &["straße", "weg", "allee", "gasse", "ring"];
pub const STREET_STEMS_EN: &[&str] = &[
    "Oak", "Maple", "Elm", "Cedar", "Pine", "Church", "Mill", "Station", "High", "King", "Queen",
    "Victoria", "George", "Market", "Bridge", "Chester", "Windsor", "Albert",
];
pub const STREET_TYPES_EN: &[&str] = &["Street", "Road", "Lane", "Avenue", "Close", "Drive"];

/// Nicknames as people write them (the generator's own list; not every
/// entry is in the matcher's table).
pub const NICKNAMES: &[(&str, &[&str])] = &[
    ("William", &["Bill", "Will", "Billy", "Liam"]),
    ("Robert", &["Bob", "Rob", "Bobby"]),
    ("Elizabeth", &["Liz", "Beth", "Betty", "Eliza"]),
    ("Richard", &["Rick", "Dick", "Rich"]),
    ("James", &["Jim", "Jimmy", "Jamie"]),
    ("John", &["Jack", "Johnny"]),
    ("Margaret", &["Maggie", "Meg", "Peggy"]),
    ("Katharina", &["Kathi", "Katja", "Kati"]),
    ("Michael", &["Mike", "Mick"]),
    ("Thomas", &["Tom", "Tommy"]),
    ("Joseph", &["Joe", "Joey"]),
    ("Charles", &["Charlie", "Chuck"]),
    ("Edward", &["Ed", "Eddie", "Ted"]),
    ("Anthony", &["Tony"]),
    ("Daniel", &["Dan", "Danny"]),
    ("David", &["Dave"]),
    ("Alessandro", &["Sandro", "Alex"]),
    ("Christopher", &["Chris"]),
    ("Jennifer", &["Jen", "Jenny"]),
    ("Patricia", &["Pat", "Patty", "Trish"]),
    ("Susan", &["Sue", "Susie"]),
    ("Nicholas", &["Nick"]),
    ("Matthew", &["Matt"]),
    ("Andrew", &["Andy", "Drew"]),
    ("Benjamin", &["Ben"]),
    ("Samantha", &["Sam"]),
    ("Steven", &["Steve"]),
    ("Stephen", &["Steve"]),
    ("Timothy", &["Tim"]),
    ("Jonathan", &["Jon"]),
    ("Deborah", &["Debbie", "Deb"]),
    ("Rebecca", &["Becky"]),
    ("Kenneth", &["Ken", "Kenny"]),
    ("Ronald", &["Ron"]),
    ("Jacob", &["Jake"]),
    ("Joshua", &["Josh"]),
    ("Maximilian", &["Max"]),
    ("Lukas", &["Luke"]),
    ("Dmitri", &["Dima"]),
    ("Alexander", &["Alex", "Sasha"]),
];
