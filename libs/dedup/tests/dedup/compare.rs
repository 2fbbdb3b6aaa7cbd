//! Scenario tests for `compare`.

use crm_dedup::{Address, Config, Kind, Level, Match, Reason, Record, compare};

fn person(id: u128, name: &str) -> Record {
    Record::new(id, Kind::Person, name)
}

fn org(id: u128, name: &str) -> Record {
    Record::new(id, Kind::Organization, name)
}

fn with_email(mut r: Record, e: &str) -> Record {
    r.emails.push(e.into());
    r
}

fn with_phone(mut r: Record, p: &str) -> Record {
    r.phones.push(p.into());
    r
}

fn with_birth(mut r: Record, d: &str) -> Record {
    r.birth_date = Some(d.into());
    r
}

fn with_address(mut r: Record, a: &str) -> Record {
    r.addresses.push(Address::free_text(a));
    r
}

fn cmp(a: &Record, b: &Record) -> Option<Match> {
    let cfg = Config::default();
    let m = compare(a, b, &cfg);
    // Symmetric and deterministic.
    let back = compare(b, a, &cfg);
    assert_eq!(m.as_ref().map(|m| m.score), back.as_ref().map(|m| m.score));
    assert_eq!(m, compare(a, b, &cfg));
    if let Some(m) = &m {
        assert!((0.0..=1.0).contains(&m.score));
    }
    m
}

fn rendered(m: &Match) -> Vec<String> {
    m.reasons.iter().map(ToString::to_string).collect()
}

fn name_score(m: &Match) -> f64 {
    m.reasons
        .iter()
        .find_map(|r| match r {
            Reason::Name { score, .. } => Some(*score),
            _ => None,
        })
        .unwrap_or(0.0)
}

#[test]
fn typo_with_same_email_is_duplicate() {
    let a = with_email(person(1, "Jonh Smith"), "john.smith@example.com");
    let b = with_email(person(2, "John Smith"), "John.Smith@example.com");
    let m = cmp(&a, &b).expect("match");
    assert_eq!(m.level, Level::Duplicate);
    let r = rendered(&m);
    assert!(r.contains(&"same email".to_string()), "{r:?}");
    assert!(r.iter().any(|x| x.starts_with("name 0.9")), "{r:?}");
}

#[test]
fn typo_with_same_birth_date_is_duplicate() {
    let a = with_birth(person(1, "Jonh Smith"), "1980-05-01");
    let b = with_birth(person(2, "John Smith"), "1980-05-01");
    let m = cmp(&a, &b).expect("match");
    assert_eq!(m.level, Level::Duplicate);
    assert!(rendered(&m).contains(&"same birth date".to_string()));
}

#[test]
fn swapped_names_and_phone_formats() {
    let a = with_phone(person(1, "Smith, John"), "+86 138 1234 5678");
    let b = with_phone(person(2, "John Smith"), "0086-138-1234-5678");
    let m = cmp(&a, &b).expect("match");
    assert_eq!(m.level, Level::Duplicate);
    assert_eq!(name_score(&m), 1.0);
    assert!(rendered(&m).contains(&"same phone".to_string()));
}

#[test]
fn initials_score_lower_than_full_names() {
    let full = cmp(
        &with_email(person(1, "John Smith"), "js@example.com"),
        &with_email(person(2, "John Smith"), "js@example.com"),
    )
    .expect("full");
    let init = cmp(
        &with_email(person(1, "J. Smith"), "js@example.com"),
        &with_email(person(2, "John Smith"), "js@example.com"),
    )
    .expect("initial");
    assert_eq!(init.level, Level::Duplicate);
    assert!(init.score < full.score);
    assert!(name_score(&init) < name_score(&full));
}

#[test]
fn chinese_exact() {
    let a = with_phone(person(1, "张伟"), "13812345678");
    let b = with_phone(person(2, "张 伟"), "+86 138-1234-5678");
    let m = cmp(&a, &b).expect("match");
    assert_eq!(m.level, Level::Duplicate);
    assert!(rendered(&m).contains(&"name 1.00".to_string()));
}

#[test]
fn common_chinese_name_alone_is_at_most_possible() {
    let m = cmp(&person(1, "张伟"), &person(2, "张伟"));
    assert!(m.is_none_or(|m| m.level == Level::Possible));
}

#[test]
fn chinese_vs_pinyin() {
    let a = with_birth(person(1, "张伟"), "1985-03-12");
    for latin in ["Zhang Wei", "Wei Zhang", "ZHANG Wei"] {
        let b = with_birth(person(2, latin), "1985-03-12");
        let m = cmp(&a, &b).expect(latin);
        assert_eq!(m.level, Level::Duplicate, "{latin}");
        assert!(
            rendered(&m).contains(&"name 0.95 (pinyin)".to_string()),
            "{m}"
        );
    }
    let c = with_phone(person(3, "王小明"), "13900001111");
    let d = with_phone(person(4, "Xiaoming Wang"), "+86 139 0000 1111");
    assert_eq!(cmp(&c, &d).expect("match").level, Level::Duplicate);
}

#[test]
fn organisation_suffixes() {
    let a = org(1, "Acme Trading Co., Ltd.");
    let b = org(2, "ACME Trading Limited");
    let m = cmp(&a, &b).expect("name-only match");
    assert_eq!(name_score(&m), 1.0);
    assert_eq!(m.level, Level::Possible, "a name alone is not proof");
    let m = cmp(
        &with_phone(a, "+49 30 1234567"),
        &with_phone(b, "0049 (0)30 1234567"),
    )
    .expect("match");
    assert_eq!(m.level, Level::Duplicate);

    let c = with_address(
        org(3, "华信科技有限公司"),
        "北京市海淀区中关村大街1号 100080",
    );
    let d = with_address(
        org(4, "华信科技股份有限公司"),
        "北京市海淀区中关村大街1号 100080",
    );
    let m = cmp(&c, &d).expect("match");
    assert_eq!(m.level, Level::Duplicate);
    assert!(rendered(&m).contains(&"same address".to_string()));
}

#[test]
fn organisation_legal_name() {
    let mut a = org(1, "Acme");
    a.legal_name = Some("Acme Trading GmbH".into());
    let b = with_email(org(2, "Acme Trading"), "info@acme-trading.de");
    let a = with_email(a, "sales@acme-trading.de");
    let m = cmp(&a, &b).expect("match");
    assert_eq!(name_score(&m), 1.0);
    assert!(rendered(&m).contains(&"same email domain".to_string()));
}

#[test]
fn gmail_dots_and_tags() {
    let a = with_email(person(1, "John Smith"), "john.smith@gmail.com");
    let b = with_email(person(2, "John Smith"), "JohnSmith+crm@googlemail.com");
    let m = cmp(&a, &b).expect("match");
    assert!(rendered(&m).contains(&"same email".to_string()));
    assert_eq!(m.level, Level::Duplicate);
}

#[test]
fn same_postal_code_is_reported() {
    let a = with_address(person(1, "Anna Weber"), "Hauptstraße 5, 10115 Berlin");
    let b = with_address(person(2, "Anna Weber"), "Gartenweg 9, 10115 Berlin");
    let m = cmp(&a, &b).expect("match");
    assert!(rendered(&m).contains(&"same postal code".to_string()));
}

// ---------------------------------------------------------------- negatives

#[test]
fn relatives_sharing_surname_phone_and_address() {
    let addr = "Hauptstraße 5, 10115 Berlin";
    let a = with_birth(
        with_address(with_phone(person(1, "John Smith"), "030 1234567"), addr),
        "1950-01-02",
    );
    let b = with_birth(
        with_address(with_phone(person(2, "Mary Smith"), "030 1234567"), addr),
        "1953-07-19",
    );
    assert!(cmp(&a, &b).is_none());
    let c = with_phone(person(3, "Jane Smith"), "030 1234567");
    let d = with_phone(person(4, "John Smith"), "030 1234567");
    assert!(cmp(&c, &d).is_none_or(|m| m.level == Level::Possible));
}

#[test]
fn shared_switchboard_with_different_names() {
    let a = with_phone(person(1, "Zhang Wei"), "010-8888 6666");
    let b = with_phone(person(2, "Li Na"), "+86 10 8888 6666");
    assert!(cmp(&a, &b).is_none());
    let c = with_phone(person(3, "王伟"), "010-8888 6666");
    let d = with_phone(person(4, "王芳"), "010-8888 6666");
    assert!(cmp(&c, &d).is_none());
}

#[test]
fn shared_family_email_with_different_names() {
    let a = with_email(person(1, "Peter Müller"), "familie.mueller@web.de");
    let b = with_email(person(2, "Sabine Müller"), "familie.mueller@web.de");
    assert!(cmp(&a, &b).is_none());
}

#[test]
fn same_name_different_birth_date() {
    let a = with_birth(person(1, "John Smith"), "1980-05-01");
    let b = with_birth(person(2, "John Smith"), "1962-11-23");
    let m = cmp(&a, &b);
    assert!(m.is_none(), "{m:?}");
    // Even with a shared e-mail the conflict keeps it out of "duplicate".
    let m = cmp(
        &with_email(a, "x@example.com"),
        &with_email(b, "x@example.com"),
    );
    assert!(m.is_none_or(|m| m.level == Level::Possible));
}

#[test]
fn different_people_sharing_a_surname() {
    for (x, y) in [
        ("John Smith", "Mary Smith"),
        ("Hans Müller", "Jürgen Müller"),
        ("张伟", "张敏"),
        ("Zhang Wei", "Zhang Min"),
        ("张伟", "Zhang Min"),
    ] {
        let a = with_address(person(1, x), "Parkstraße 1, 80331 München");
        let b = with_address(person(2, y), "Parkstraße 1, 80331 München");
        assert!(cmp(&a, &b).is_none(), "{x} / {y}");
    }
}

#[test]
fn same_company_in_different_cities_is_only_possible() {
    let a = with_email(
        with_address(org(1, "Acme Trading GmbH"), "Hauptstraße 1, 10115 Berlin"),
        "info@acme-trading.de",
    );
    let b = with_email(
        with_address(org(2, "Acme Trading GmbH"), "Marktplatz 3, 80331 München"),
        "muenchen@acme-trading.de",
    );
    let m = cmp(&a, &b).expect("possible");
    assert_eq!(m.level, Level::Possible);
    assert!(rendered(&m).contains(&"different postal code".to_string()));
    let c = with_address(org(3, "华信科技有限公司"), "北京市朝阳区建国路1号 100022");
    let d = with_address(org(4, "华信科技有限公司"), "上海市浦东区世纪大道8号 200120");
    assert!(cmp(&c, &d).is_none_or(|m| m.level == Level::Possible));
}

#[test]
fn different_companies() {
    assert!(cmp(&org(1, "Acme Trading Ltd"), &org(2, "Acme Consulting Ltd")).is_none());
    assert!(cmp(&org(1, "华信科技有限公司"), &org(2, "华为技术有限公司")).is_none());
    let a = with_phone(org(1, "Zenith Foods AG"), "+41 44 123 45 67");
    let b = with_phone(org(2, "Norvatek Systems AG"), "+41 44 123 45 67");
    assert!(cmp(&a, &b).is_none());
}

#[test]
fn person_and_organisation_never_match() {
    let a = with_email(person(1, "Acme"), "info@acme.com");
    let b = with_email(org(2, "Acme"), "info@acme.com");
    assert!(cmp(&a, &b).is_none());
}

#[test]
fn thresholds_are_configurable() {
    let a = person(1, "John Smith");
    let b = person(2, "John Smith");
    let strict = Config {
        possible: 0.99,
        ..Config::default()
    };
    assert!(compare(&a, &b, &strict).is_none());
    let loose = Config {
        possible: 0.1,
        duplicate: 0.5,
        ..Config::default()
    };
    assert_eq!(
        compare(&a, &b, &loose).map(|m| m.level),
        Some(Level::Duplicate)
    );
}

// ------------------------------------------------ identifying evidence

#[test]
fn name_and_postal_code_alone_are_at_most_possible() {
    let a = with_address(
        org(1, "Vireo Systems AG"),
        "Friedrichstraße 152, 10318 Berlin",
    );
    let b = with_address(
        org(2, "Vireo Systems S.A."),
        "Karl-Marx-Allee 270, 10318 Berlin",
    );
    let m = cmp(&a, &b).expect("possible");
    assert_eq!(m.level, Level::Possible);
    let r = rendered(&m);
    assert!(r.contains(&"same postal code".to_string()), "{r:?}");
    assert!(
        r.contains(&"no shared contact, birth date or address".to_string()),
        "{r:?}"
    );
}

#[test]
fn another_house_number_counts_against() {
    let a = with_address(person(1, "Anna Weber"), "Friedrichstraße 152, 10318 Berlin");
    let neighbour = with_address(person(2, "Anna Weber"), "Friedrichstraße 58, 10318 Berlin");
    let loose = Config {
        possible: 0.0,
        ..Config::default()
    };
    let m = compare(&a, &neighbour, &loose).expect("scored");
    assert!(m.reasons.contains(&Reason::DifferentHouseNumber), "{m}");
    assert!(cmp(&a, &neighbour).is_none());
    // The same house number, written differently, identifies ("str." and
    // "straße" are one street type, so the fields are the same).
    let same = with_address(person(3, "Anna Weber"), "FRIEDRICHSTR. 152  10318 BERLIN");
    let m = cmp(&a, &same).expect("match");
    assert_eq!(m.level, Level::Duplicate, "{m}");
    assert!(rendered(&m).contains(&"same address".to_string()), "{m}");
    // A typo in the street: similar.
    let typo = with_address(person(4, "Anna Weber"), "Friedrichstrase 152, 10318 Berlin");
    let m = cmp(&a, &typo).expect("match");
    assert_eq!(m.level, Level::Duplicate, "{m}");
    assert!(rendered(&m).contains(&"similar address".to_string()), "{m}");
}

#[test]
fn all_contacts_different_counts_against() {
    let base = |id, email: &str, phone: &str| {
        with_birth(
            with_phone(with_email(person(id, "Wang Fang"), email), phone),
            "1990-01-02",
        )
    };
    let a = base(1, "wf1@qq.com", "13800001111");
    let b = base(2, "fang.w@163.com", "13900002222");
    let m = cmp(&a, &b).expect("possible");
    assert_eq!(m.level, Level::Possible, "{m}");
    let r = rendered(&m);
    assert!(r.contains(&"different email".to_string()), "{r:?}");
    assert!(r.contains(&"different phone".to_string()), "{r:?}");
    let without = cmp(
        &with_birth(person(3, "Wang Fang"), "1990-01-02"),
        &with_birth(person(4, "Wang Fang"), "1990-01-02"),
    )
    .expect("match");
    assert_eq!(without.level, Level::Duplicate);
}

#[test]
fn firms_with_other_company_domains() {
    let a = with_email(org(1, "Harbor Logistics GmbH"), "info@harbor-logistics.de");
    let b = with_email(org(2, "Harbor Logistics Ltd"), "sales@harborlog.co.uk");
    assert!(cmp(&a, &b).is_none());
    let loose = Config {
        possible: 0.0,
        ..Config::default()
    };
    let m = compare(&a, &b, &loose).expect("scored");
    assert!(m.reasons.contains(&Reason::DifferentEmailDomain), "{m}");
}

#[test]
fn same_address_and_birth_date_with_another_name_is_a_household() {
    // Same phone, birth date and address but an unrelated name: worth a
    // look, never a merge.
    let addr = "Sendlinger Straße 235, 80883 München";
    let a = with_birth(
        with_address(with_phone(person(1, "Jean Horvát"), "+49 87 2556250"), addr),
        "1982-12-04",
    );
    let b = with_birth(
        with_address(
            with_phone(person(2, "Noah Fernández"), "+49 87 2556250"),
            addr,
        ),
        "1982-12-04",
    );
    assert!(cmp(&a, &b).is_none_or(|m| m.level == Level::Possible));
}

/// Day and month swapped, or neighbouring digits transposed, with the full
/// name: one specific slip, about as telling as the same date. One digit
/// replaced is not: some 30 dates are that close to any date, and among
/// common names such namesakes are ordinary.
#[test]
fn a_birth_date_slip_with_the_full_name_is_a_duplicate() {
    let a = with_birth(person(1, "John Jackson"), "1976-06-02");
    let swapped = with_birth(person(2, "John Jackson"), "1976-02-06");
    assert_eq!(cmp(&a, &swapped).map(|m| m.level), Some(Level::Duplicate));
    let transposed = with_birth(person(3, "John Jackson"), "1967-06-02");
    assert_eq!(
        cmp(&a, &transposed).map(|m| m.level),
        Some(Level::Duplicate)
    );
    let replaced = with_birth(person(4, "John Jackson"), "1976-06-09");
    let m = cmp(&a, &replaced);
    assert!(
        m.as_ref().is_none_or(|m| m.level == Level::Possible),
        "{m:?}"
    );
    // With only the initial the slip identifies nobody.
    let initial = with_birth(person(5, "J. Jackson"), "1976-02-06");
    let m = cmp(&a, &initial);
    assert!(
        m.as_ref().is_none_or(|m| m.level == Level::Possible),
        "{m:?}"
    );
}
