//! The catalogs are complete and the templates hold no text of their own.
use super::*;
use std::{collections::BTreeSet, fs, path::Path};

fn catalogs() -> Vec<Catalog> {
    Locale::ALL
        .iter()
        .map(|&l| Catalog::parse(l, l.source()).expect("catalog parses"))
        .collect()
}

#[test]
fn every_locale_has_the_same_keys() {
    let all = catalogs();
    let en: BTreeSet<_> = all[0].keys().collect();
    for other in &all[1..] {
        let keys: BTreeSet<_> = other.keys().collect();
        let missing: Vec<_> = en.difference(&keys).collect();
        let extra: Vec<_> = keys.difference(&en).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{}: missing {missing:?}, not in en {extra:?}",
            other.locale.tag()
        );
    }
}

fn template_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).expect("templates dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            template_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn sources() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    template_files(&root.join("templates"), &mut files);
    template_files(&root.join("src"), &mut files);
    files
        .into_iter()
        .map(|p| {
            (
                p.display().to_string(),
                fs::read_to_string(&p).expect("read"),
            )
        })
        .collect()
}

/// Removes every `open … close` span.
fn strip(text: &str, open: &str, close: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(open) {
        out.push_str(&rest[..start]);
        match rest[start + open.len()..].find(close) {
            Some(end) => rest = &rest[start + open.len() + end + close.len()..],
            None => {
                rest = "";
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Language names are written in their own language, never translated.
const AUTONYMS: &[&str] = &["English", "简体中文", "中文"];

fn has_words(text: &str) -> bool {
    let mut text = text.to_owned();
    for name in AUTONYMS {
        text = text.replace(name, "");
    }
    // Entities such as &nbsp; are markup, not words.
    let text = strip(&text, "&", ";");
    text.chars().any(char::is_alphabetic)
}

#[test]
fn templates_hold_no_text_outside_the_catalogs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let mut files = Vec::new();
    template_files(&root, &mut files);
    let mut offences = Vec::new();
    for path in files {
        let source = fs::read_to_string(&path).expect("read");
        let code_free = strip(&strip(&strip(&source, "{#", "#}"), "{%", "%}"), "{{", "}}");
        // Text between tags.
        let text = strip(&code_free, "<", ">");
        for line in text.lines().filter(|l| has_words(l)) {
            offences.push(format!("{}: text {:?}", path.display(), line.trim()));
        }
        // Attributes users read or hear.
        for attr in ["placeholder=\"", "title=\"", "aria-label=\"", "alt=\""] {
            for (i, _) in code_free.match_indices(attr) {
                let value = &code_free[i + attr.len()..];
                let value = &value[..value.find('"').unwrap_or(value.len())];
                if has_words(value) {
                    offences.push(format!("{}: {attr}{value}\"", path.display()));
                }
            }
        }
    }
    assert!(
        offences.is_empty(),
        "user-visible text outside the catalogs:\n{}",
        offences.join("\n")
    );
}

#[test]
fn every_key_the_code_names_is_in_the_catalog() {
    let all = catalogs();
    let keys: BTreeSet<_> = all[0].keys().collect();
    let families = [
        "app",
        "nav",
        "action",
        "login",
        "error",
        "myday",
        "customers",
        "customer",
        "interaction",
        "list",
        "settings",
        "admin",
        "kind",
        "stage",
        "channel",
    ];
    let mut missing = BTreeSet::new();
    for (file, source) in sources() {
        for piece in source.split('"').skip(1).step_by(2) {
            let Some((family, rest)) = piece.split_once('.') else {
                continue;
            };
            let is_key = families.contains(&family)
                && !rest.is_empty()
                && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            // File names ("login.html") and asset names ("app.css") look alike: skip them.
            let is_file = ["html", "css", "js", "txt"].contains(&rest);
            if is_key && !is_file && !keys.contains(piece) {
                missing.insert(format!("{piece} ({file})"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "keys missing from the catalogs: {missing:?}"
    );
    // Keys built at run time from enum names.
    use crm_proto::crm::customers::v1::customer::{Kind, LifecycleStage, SourceChannel};
    for stage in crate::pages::customers::STAGES {
        assert!(
            keys.contains(format!("stage.{stage}").as_str()),
            "stage.{stage}"
        );
        assert!(
            LifecycleStage::from_str_name(stage).is_some(),
            "{stage} is not an API stage"
        );
    }
    // Enum-built keys of the customer page: every value the API can send has its text.
    use crm_proto::crm::customers::v1::{consent, contact, customer_history_entry};
    for n in 0..=4 {
        let role = contact::Role::try_from(n).expect("role").as_str_name();
        assert!(
            keys.contains(format!("role.{role}").as_str()),
            "role.{role}"
        );
        let purpose = consent::Purpose::try_from(n)
            .expect("purpose")
            .as_str_name();
        assert!(
            keys.contains(format!("consent.{purpose}").as_str()),
            "consent.{purpose}"
        );
    }
    for n in 0..=2 {
        let status = consent::Status::try_from(n).expect("status").as_str_name();
        assert!(
            keys.contains(format!("consent.{status}").as_str()),
            "consent.{status}"
        );
    }
    for n in 0..=8 {
        let action = customer_history_entry::Action::try_from(n)
            .expect("action")
            .as_str_name();
        assert!(
            keys.contains(format!("history.{action}").as_str()),
            "history.{action}"
        );
    }
    for target in crate::pages::transfer::TARGETS {
        assert!(
            keys.contains(format!("field.{target}").as_str()),
            "field.{target}"
        );
    }
    for kind in crate::pages::customers::KINDS {
        assert!(Kind::from_str_name(kind).is_some());
    }
    for n in 1..=9 {
        let channel = SourceChannel::try_from(n).expect("channel").as_str_name();
        assert!(
            keys.contains(format!("channel.{channel}").as_str()),
            "channel.{channel}"
        );
    }
}

#[test]
fn accept_language_picks_the_best_supported_locale() {
    assert_eq!(
        Locale::negotiate("zh-CN,zh;q=0.9,en;q=0.8"),
        Some(Locale::ZhCn)
    );
    assert_eq!(
        Locale::negotiate("en-GB,en;q=0.9,zh;q=0.95"),
        Some(Locale::En)
    );
    assert_eq!(
        Locale::negotiate("fr-FR,zh-TW;q=0.5,en;q=0.4"),
        Some(Locale::ZhCn)
    );
    assert_eq!(Locale::negotiate("fr, de"), None);
    assert_eq!(Locale::negotiate("en;q=0, zh;q=0.1"), Some(Locale::ZhCn));
}

#[test]
fn dates_numbers_and_money_follow_locale_and_zone() {
    init().expect("catalogs");
    let ts = Some(crm_proto::Timestamp {
        seconds: 1_796_000_000,
        nanos: 0,
    }); // 2026-11-30T00:53:20Z
    let en_utc = Tr::new(Locale::En, Tz::UTC);
    let zh_sh = Tr::new(Locale::ZhCn, time_zone("Asia/Shanghai"));
    assert_eq!(en_utc.datetime(&ts), "30 Nov 2026, 00:53");
    assert_eq!(zh_sh.datetime(&ts), "2026年11月30日 08:53");
    assert_eq!(
        Tr::new(Locale::En, time_zone("America/Los_Angeles")).date(&ts),
        "29 Nov 2026"
    );
    assert_eq!(en_utc.datetime(&None), "");
    assert_eq!(en_utc.number(-1_234_567i64), "-1,234,567");
    assert_eq!(en_utc.number(999i64), "999");
    assert_eq!(zh_sh.money(123_456, "CNY"), "¥1,234.56");
    assert_eq!(en_utc.money(123_456, "CNY"), "CN¥1,234.56");
    assert_eq!(en_utc.money(-5, "USD"), "-$0.05");
    assert_eq!(en_utc.money(1500, "JPY"), "¥1,500");
    assert_eq!(en_utc.money(1_000, "CHF"), "10.00 CHF");
    assert_eq!(en_utc.t("nav.customers"), "Customers");
    assert_eq!(zh_sh.t("nav.customers"), "客户");
    assert_eq!(
        zh_sh.t1("customers.hidden_duplicates", 3),
        "另有 3 个您无权查看。"
    );
    assert_eq!(en_utc.t("no.such.key"), "no.such.key");
    assert_eq!(time_zone("Mars/Olympus"), Tz::UTC);
}

/// The matcher's reasons are shown in the page's language; one the catalog does not know stays
/// as written.
#[test]
fn duplicate_reasons_are_translated() {
    init().expect("catalogs");
    let reasons: Vec<String> = [
        "same phone",
        "name 0.93 (pinyin)",
        "name 0.88",
        "common name (120 records)",
        "no shared contact, birth date or address",
        "something new",
    ]
    .map(str::to_owned)
    .to_vec();
    let zh = Tr::new(Locale::ZhCn, Tz::UTC);
    assert_eq!(
        zh.reasons(&reasons),
        "同一电话，姓名相似度 0.93（拼音），姓名相似度 0.88，常见姓名（120 条记录），\
         无相同的联系方式、出生日期或地址，something new"
    );
    let en = Tr::new(Locale::En, Tz::UTC);
    assert_eq!(
        en.reasons(&reasons),
        reasons.join(", "),
        "English is the matcher's own"
    );
}
