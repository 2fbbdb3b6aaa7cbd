//! Parsing of person and organisation names into comparable [`NameForm`]s.
//!
//! Chinese characters are romanised with the `pinyin` crate (plain style,
//! tones dropped, ü written as u). Characters read differently as surnames
//! (曾 zeng, 单 shan, …) get their surname reading first via a small table,
//! and two-character compound surnames (欧阳, 司马, …) are recognised so that
//! the given name can be split off correctly for blocking.

use crate::normalize::fold;
use pinyin::ToPinyinMulti;

/// A name reduced to the pieces the matcher compares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameForm {
    /// Latin-script tokens: folded, punctuation dropped, titles removed.
    pub tokens: Vec<String>,
    /// Han characters in their original order, without spaces.
    pub han: String,
    /// Concatenated pinyin of `han`: the most likely reading first, then
    /// other heteronym combinations (capped at [`MAX_READINGS`]).
    pub pinyin: Vec<String>,
    /// Token lists of the likely pinyin for `han`: `[surname, given]` and,
    /// for multi-character given names, `[surname, g1, g2, …]` (the two
    /// ways such names are romanised: "Wang Xiaoming" / "Wang Xiao Ming").
    pub pinyin_tokens: Vec<Vec<String>>,
    /// `tokens` joined without spaces in every order (≤ 4 tokens, else the
    /// given order only), so "Jean-Pierre"/"Jeanpierre" and "Zhang Wei"/
    /// "Zhangwei" compare equal.
    pub concats: Vec<String>,
    /// `tokens`/`concats` with ü spellings ("lv", "lyu") mapped to the
    /// crate's pinyin ("lu"), for Han-vs-Latin matching. Empty when
    /// identical to `tokens`/`concats` (the usual case, saves memory).
    pub py_tokens: Vec<String>,
    pub py_concats: Vec<String>,
    /// Sorted hashes of `pinyin`, and of the ü-adjusted concats, so the
    /// scan's inner loop intersects integers instead of strings.
    pub pinyin_hashes: Vec<u64>,
    pub py_concat_hashes: Vec<u64>,
}

/// FNV-1a, used for cheap set intersections and key grouping; a collision
/// can only cause an extra comparison or a rare false pinyin agreement.
pub(crate) fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn sorted_hashes(items: &[String]) -> Vec<u64> {
    let mut v: Vec<u64> = items.iter().map(|s| fnv1a(s)).collect();
    v.sort_unstable();
    v.dedup();
    v
}

impl NameForm {
    /// True if no comparable content remains.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty() && self.han.is_empty()
    }
}

/// Cap on heteronym combinations so long names cannot explode.
pub const MAX_READINGS: usize = 16;
const MAX_PERMUTED_TOKENS: usize = 4;

/// Titles and salutations that carry no identity.
const TITLES: &[&str] = &[
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "herr", "frau", "mme", "mlle", "sir", "madam",
];

/// Trailing legal-form tokens (after dots are removed, so "S.p.A." is "spa").
const LEGAL_SUFFIXES: &[&str] = &[
    "ltd",
    "limited",
    "llc",
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "co",
    "company",
    "gmbh",
    "mbh",
    "ag",
    "kg",
    "kgaa",
    "ug",
    "se",
    "sa",
    "sas",
    "sarl",
    "srl",
    "spa",
    "bv",
    "nv",
    "oy",
    "oyj",
    "ab",
    "as",
    "aps",
    "pty",
    "plc",
    "llp",
    "lp",
    "and",
];

/// Chinese legal-form suffixes, longest first so the greedy strip is right.
const HAN_SUFFIXES: &[&str] = &[
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "股份公司",
    "集团",
    "公司",
    "股份",
];

/// Compound (two-character) surnames with their reading.
pub(crate) const COMPOUND_SURNAMES: &[(&str, &str)] = &[
    ("欧阳", "ouyang"),
    ("司马", "sima"),
    ("上官", "shangguan"),
    ("诸葛", "zhuge"),
    ("东方", "dongfang"),
    ("皇甫", "huangfu"),
    ("尉迟", "yuchi"),
    ("公孙", "gongsun"),
    ("慕容", "murong"),
    ("长孙", "zhangsun"),
    ("司徒", "situ"),
    ("夏侯", "xiahou"),
    ("令狐", "linghu"),
    ("宇文", "yuwen"),
    ("端木", "duanmu"),
    ("轩辕", "xuanyuan"),
    ("南宫", "nangong"),
    ("西门", "ximen"),
    ("呼延", "huyan"),
    ("独孤", "dugu"),
    ("万俟", "moqi"),
    ("单于", "chanyu"),
];

/// Surname readings that differ from the character's everyday reading.
const SURNAME_READINGS: &[(char, &str)] = &[
    ('曾', "zeng"),
    ('单', "shan"),
    ('解', "xie"),
    ('区', "ou"),
    ('仇', "qiu"),
    ('朴', "piao"),
    ('查', "zha"),
    ('翟', "zhai"),
    ('盖', "ge"),
    ('乐', "yue"),
    ('覃', "qin"),
    ('召', "shao"),
    ('缪', "miao"),
    ('种', "chong"),
    ('秘', "bi"),
    ('重', "chong"),
    ('车', "che"),
    ('句', "gou"),
    ('员', "yun"),
    ('祭', "zhai"),
    ('宿', "su"),
    ('隗', "wei"),
];

/// True for CJK ideographs (unified, extensions A–F, compatibility).
pub fn is_han(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2FA1F | 0xF900..=0xFAFF)
}

/// Plain pinyin readings of one character, deduplicated, ü → u.
pub fn readings(c: char) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if let Some(multi) = c.to_pinyin_multi() {
        for p in multi {
            let r = p.plain().replace('ü', "u");
            if !out.contains(&r) {
                out.push(r);
            }
        }
    }
    out
}

/// Readings with the surname reading moved to the front.
pub(crate) fn surname_readings(c: char) -> Vec<String> {
    let mut rs = readings(c);
    if let Some((_, r)) = SURNAME_READINGS.iter().find(|(ch, _)| *ch == c) {
        rs.retain(|x| x != r);
        rs.insert(0, (*r).to_string());
    }
    rs
}

/// Splits a Han name into (surname reading options, given-name characters).
pub(crate) fn split_han_name(han: &str) -> (Vec<String>, Vec<char>) {
    let chars: Vec<char> = han.chars().collect();
    if chars.len() >= 3 {
        for (sur, reading) in COMPOUND_SURNAMES {
            if han.starts_with(sur) {
                return (vec![(*reading).to_string()], chars[2..].to_vec());
            }
        }
    }
    match chars.split_first() {
        Some((first, rest)) => (surname_readings(*first), rest.to_vec()),
        None => (Vec::new(), Vec::new()),
    }
}

/// All concatenated readings of a Han string (capped), most likely first.
/// `person` enables surname handling for the first character(s).
fn pinyin_strings(han: &str, person: bool) -> Vec<String> {
    let mut units: Vec<Vec<String>> = Vec::new();
    if person {
        let (sur, given) = split_han_name(han);
        units.push(sur);
        units.extend(given.into_iter().map(readings));
    } else {
        units.extend(han.chars().map(readings));
    }
    let mut combos = vec![String::new()];
    for options in units.iter().filter(|o| !o.is_empty()) {
        let mut next = Vec::new();
        'outer: for prefix in &combos {
            for r in options {
                if next.len() >= MAX_READINGS {
                    break 'outer;
                }
                next.push(format!("{prefix}{r}"));
            }
        }
        combos = next;
    }
    combos.retain(|s| !s.is_empty());
    combos
}

/// Token lists of the primary pinyin of a Han person name.
fn pinyin_token_lists(han: &str) -> Vec<Vec<String>> {
    let (sur, given) = split_han_name(han);
    let Some(sur) = sur.into_iter().next() else {
        return Vec::new();
    };
    let given: Vec<String> = given
        .iter()
        .filter_map(|c| readings(*c).into_iter().next())
        .collect();
    let mut out = Vec::new();
    if given.is_empty() {
        out.push(vec![sur]);
        return out;
    }
    out.push(vec![sur.clone(), given.concat()]);
    if given.len() >= 2 {
        let mut syllables = vec![sur];
        syllables.extend(given);
        out.push(syllables);
    }
    out
}

/// Every ordering of `tokens` joined without separator (deduplicated).
fn token_concats(tokens: &[String]) -> Vec<String> {
    if tokens.is_empty() {
        return Vec::new();
    }
    if tokens.len() > MAX_PERMUTED_TOKENS {
        return vec![tokens.concat()];
    }
    let mut out = Vec::new();
    let mut idx: Vec<usize> = (0..tokens.len()).collect();
    permute(&mut idx, 0, &mut |order| {
        out.push(
            order
                .iter()
                .map(|&i| tokens[i].as_str())
                .collect::<String>(),
        );
    });
    out.sort();
    out.dedup();
    out
}

fn permute(idx: &mut [usize], k: usize, f: &mut dyn FnMut(&[usize])) {
    if k == idx.len() {
        f(idx);
        return;
    }
    for i in k..idx.len() {
        idx.swap(k, i);
        permute(idx, k + 1, f);
        idx.swap(k, i);
    }
}

/// Maps the common romanisations of ü ("lv", "lyu") to the crate's plain
/// pinyin, where ü is folded to u.
fn pinyin_latin(token: &str) -> String {
    for (from, to) in [("lyu", "lu"), ("nyu", "nu"), ("lv", "lu"), ("nv", "nu")] {
        if let Some(rest) = token.strip_prefix(from) {
            return format!("{to}{rest}");
        }
    }
    token.to_string()
}

/// Splits folded text into Latin tokens and Han characters. Apostrophes
/// join ("O'Brien" → "obrien"); other punctuation separates.
fn split_scripts(folded: &str) -> (Vec<String>, String) {
    let mut tokens = Vec::new();
    let mut han = String::new();
    let mut cur = String::new();
    for c in folded.chars() {
        if is_han(c) {
            han.push(c);
            if !cur.is_empty() {
                tokens.push(std::mem::take(&mut cur));
            }
        } else if c.is_alphanumeric() {
            cur.push(c);
        } else if c == '\'' || c == '\u{2019}' {
            // Apostrophes are part of the name, not a separator.
        } else if !cur.is_empty() {
            tokens.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        tokens.push(cur);
    }
    (tokens, han)
}

/// Parses a person's display name. Latin tokens are folded and unordered
/// for comparison, so "Smith, John" and "John Smith" give the same tokens in
/// a different order; titles and pure numbers are dropped.
pub fn parse_person_name(raw: &str) -> NameForm {
    let (mut tokens, han) = split_scripts(&fold(raw));
    tokens.retain(|t| !TITLES.contains(&t.as_str()) && !t.chars().all(|c| c.is_ascii_digit()));
    let concats = token_concats(&tokens);
    let adjusted: Vec<String> = tokens.iter().map(|t| pinyin_latin(t)).collect();
    let (py_tokens, py_concats) = if adjusted == tokens {
        (Vec::new(), Vec::new())
    } else {
        let c = token_concats(&adjusted);
        (adjusted, c)
    };
    let pinyin = pinyin_strings(&han, true);
    let py_concat_hashes = sorted_hashes(if py_tokens.is_empty() {
        &concats
    } else {
        &py_concats
    });
    NameForm {
        pinyin_hashes: sorted_hashes(&pinyin),
        py_concat_hashes,
        pinyin,
        pinyin_tokens: pinyin_token_lists(&han),
        concats,
        tokens,
        han,
        py_tokens,
        py_concats,
    }
}

/// Parses an organisation name: folds, drops "(中国)"/"(China)" qualifiers,
/// a leading "the", and trailing legal forms in Latin ("Co., Ltd.",
/// "GmbH & Co. KG", "S.p.A.") and Chinese ("有限公司", "股份有限公司", …).
/// Never strips a name down to nothing.
pub fn parse_org_name(raw: &str) -> NameForm {
    let folded = fold(raw)
        .replace("(中国)", " ")
        .replace("(china)", " ")
        .replace('&', " and ")
        .replace('.', "");
    let (mut tokens, mut han) = split_scripts(&folded);
    if tokens.len() > 1 && tokens[0] == "the" {
        tokens.remove(0);
    }
    while tokens.len() > 1
        && tokens
            .last()
            .is_some_and(|t| LEGAL_SUFFIXES.contains(&t.as_str()))
    {
        tokens.pop();
    }
    while let Some(suffix) = HAN_SUFFIXES
        .iter()
        .find(|s| han.ends_with(**s) && han.len() > s.len())
    {
        han.truncate(han.len() - suffix.len());
    }
    let concats = token_concats(&tokens);
    let pinyin = pinyin_strings(&han, false);
    NameForm {
        pinyin_hashes: sorted_hashes(&pinyin),
        py_concat_hashes: Vec::new(),
        pinyin,
        pinyin_tokens: Vec::new(),
        concats,
        tokens,
        han,
        py_tokens: Vec::new(),
        py_concats: Vec::new(),
    }
}

/// Convenience: the cleaned, comparable text of an organisation name
/// ("华信科技有限公司" → "华信科技", "Acme Trading Co., Ltd." → "acme trading").
pub fn clean_org_name(raw: &str) -> String {
    let f = parse_org_name(raw);
    let mut parts = Vec::new();
    if !f.han.is_empty() {
        parts.push(f.han);
    }
    if !f.tokens.is_empty() {
        parts.push(f.tokens.join(" "));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(f: &NameForm) -> Vec<&str> {
        f.tokens.iter().map(String::as_str).collect()
    }

    #[test]
    fn person_latin_tokens() {
        assert_eq!(toks(&parse_person_name("Smith, John")), ["smith", "john"]);
        assert_eq!(
            toks(&parse_person_name("Dr. José  Núñez")),
            ["jose", "nunez"]
        );
        assert_eq!(toks(&parse_person_name("Seán O'Brien")), ["sean", "obrien"]);
        assert_eq!(
            toks(&parse_person_name("Jean-Pierre Müller")),
            ["jean", "pierre", "muller"]
        );
        assert_eq!(toks(&parse_person_name("J. Smith")), ["j", "smith"]);
        assert!(parse_person_name(" ,. ").is_empty());
    }

    #[test]
    fn person_concats_cover_orders() {
        let f = parse_person_name("Zhang Wei");
        assert!(f.concats.contains(&"zhangwei".to_string()));
        assert!(f.concats.contains(&"weizhang".to_string()));
    }

    #[test]
    fn person_chinese() {
        let f = parse_person_name("张 伟");
        assert_eq!(f.han, "张伟");
        assert!(f.tokens.is_empty());
        assert_eq!(f.pinyin[0], "zhangwei");
        assert_eq!(f.pinyin_tokens, vec![vec!["zhang", "wei"]]);
    }

    #[test]
    fn person_chinese_surname_readings() {
        assert_eq!(parse_person_name("曾小明").pinyin[0], "zengxiaoming");
        assert_eq!(parse_person_name("单田芳").pinyin[0], "shantianfang");
        assert_eq!(parse_person_name("吕布").pinyin[0], "lubu");
        let f = parse_person_name("欧阳修文");
        assert_eq!(f.pinyin[0], "ouyangxiuwen");
        assert_eq!(
            f.pinyin_tokens,
            vec![vec!["ouyang", "xiuwen"], vec!["ouyang", "xiu", "wen"]]
        );
    }

    #[test]
    fn pinyin_heteronyms_capped() {
        let f = parse_person_name("曾乐乐乐乐乐");
        assert!(f.pinyin.len() <= MAX_READINGS);
        assert!(f.pinyin.len() > 1);
    }

    #[test]
    fn person_mixed_scripts() {
        let f = parse_person_name("张伟 (Zhang Wei)");
        assert_eq!(f.han, "张伟");
        assert_eq!(toks(&f), ["zhang", "wei"]);
    }

    #[test]
    fn org_latin_suffixes() {
        assert_eq!(clean_org_name("Acme Trading Co., Ltd."), "acme trading");
        assert_eq!(clean_org_name("ACME Trading Limited"), "acme trading");
        assert_eq!(clean_org_name("Müller GmbH & Co. KG"), "muller");
        assert_eq!(clean_org_name("Fiat S.p.A."), "fiat");
        assert_eq!(clean_org_name("The Coca-Cola Company"), "coca cola");
        assert_eq!(clean_org_name("Nokia Oyj"), "nokia");
        assert_eq!(clean_org_name("Volvo AB"), "volvo");
        assert_eq!(clean_org_name("BHP Pty Ltd"), "bhp");
        assert_eq!(clean_org_name("Smith & Co"), "smith");
        assert_eq!(clean_org_name("Dupont SARL"), "dupont");
        assert_eq!(clean_org_name("Philips N.V."), "philips");
        assert_eq!(clean_org_name("Acme Inc."), "acme");
        // Never stripped to nothing.
        assert_eq!(clean_org_name("AB"), "ab");
    }

    #[test]
    fn org_chinese_suffixes() {
        assert_eq!(clean_org_name("华信科技有限公司"), "华信科技");
        assert_eq!(clean_org_name("华信科技股份有限公司"), "华信科技");
        assert_eq!(clean_org_name("华信科技有限责任公司"), "华信科技");
        assert_eq!(clean_org_name("华信集团有限公司"), "华信");
        assert_eq!(clean_org_name("西门子（中国）有限公司"), "西门子");
        assert_eq!(clean_org_name("(中国)华信公司"), "华信");
        assert_eq!(clean_org_name("公司"), "公司");
    }

    #[test]
    fn han_detection() {
        assert!(is_han('张'));
        assert!(!is_han('a'));
        assert!(!is_han('ü'));
    }
}
