//! Strict value parsers: every accepted form and every rejection.

use chrono::NaiveDate;
use crm_tabular::{
    DateFormat, Decimal, parse_bool, parse_date, parse_decimal, parse_integer, parse_money,
};

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("valid")
}

fn reason<T: std::fmt::Debug>(r: Result<T, crm_tabular::ValueError>) -> String {
    r.expect_err("expected an error").reason().to_owned()
}

#[test]
fn dates_unambiguous_forms() {
    for s in [
        "2024-02-04",
        "2024/02/04",
        "2024.02.04",
        "2024-2-4",
        "2024/2/4",
        " 2024-02-04 ",
        "2024年2月4日",
        "2024年02月04日",
        "2024年2月4号",
        "2024 年 2 月 4 日",
        "2024-02-04T00:00:00",
        "2024-02-04T00:00",
        "2024-02-04 00:00:00",
        "2024-02-04T00:00:00.000Z",
        "2024-02-04T00:00:00+00:00",
        "2024/2/4 0:00",
    ] {
        assert_eq!(parse_date(s, &[]), Ok(d(2024, 2, 4)), "{s}");
    }
    // Day/month order settled by a part above 12, or by both parts being equal.
    assert_eq!(parse_date("13/02/2024", &[]), Ok(d(2024, 2, 13)));
    assert_eq!(parse_date("02/13/2024", &[]), Ok(d(2024, 2, 13)));
    assert_eq!(parse_date("04/04/2024", &[]), Ok(d(2024, 4, 4)));
    assert_eq!(parse_date("31.12.2024", &[]), Ok(d(2024, 12, 31)));
}

#[test]
fn dates_declared_formats() {
    assert_eq!(
        parse_date("04/02/2024", &[DateFormat::Dmy]),
        Ok(d(2024, 2, 4))
    );
    assert_eq!(
        parse_date("04/02/2024", &[DateFormat::Mdy]),
        Ok(d(2024, 4, 2))
    );
    assert_eq!(
        parse_date("4-2-2024", &[DateFormat::Dmy]),
        Ok(d(2024, 2, 4))
    );
    // Unambiguous forms still work with a declaration.
    assert_eq!(
        parse_date("2024-02-04", &[DateFormat::Mdy]),
        Ok(d(2024, 2, 4))
    );
    // Two-digit years only through a declared pattern.
    let yy = [DateFormat::Pattern("%d/%m/%y".into())];
    assert_eq!(parse_date("04/02/24", &yy), Ok(d(2024, 2, 4)));
    let compact = [DateFormat::Pattern("%Y%m%d".into())];
    assert_eq!(parse_date("20240204", &compact), Ok(d(2024, 2, 4)));
}

#[test]
fn dates_rejections() {
    let r = reason(parse_date("04/02/2024", &[]));
    assert!(
        r.contains("ambiguous") && r.contains("2024-02-04") && r.contains("2024-04-02"),
        "{r}"
    );
    assert!(reason(parse_date("2/4", &[])).contains("no year"));
    assert!(reason(parse_date("2/4", &[DateFormat::Dmy])).contains("no year"));
    assert!(reason(parse_date("04/02/24", &[])).contains("two-digit year"));
    assert!(reason(parse_date("04/02/24", &[DateFormat::Dmy])).contains("two-digit year"));
    assert!(reason(parse_date("24-02-04", &[])).contains("two-digit year"));
    assert!(reason(parse_date("2023-02-30", &[])).contains("not a valid date"));
    assert!(reason(parse_date("2024-13-01", &[])).contains("not a valid date"));
    assert!(reason(parse_date("31/02/2024", &[])).contains("not a valid date"));
    assert!(reason(parse_date("2023年2月29日", &[])).contains("not a valid date"));
    // A declared order rejects values that contradict it.
    assert!(reason(parse_date("13/02/2024", &[DateFormat::Mdy])).contains("declared"));
    // Both orders declared and both valid: still ambiguous.
    let both = [DateFormat::Dmy, DateFormat::Mdy];
    assert!(reason(parse_date("04/02/2024", &both)).contains("ambiguous"));
    assert_eq!(parse_date("13/02/2024", &both), Ok(d(2024, 2, 13)));
    // A real time of day is not dropped silently.
    assert!(reason(parse_date("2024-02-04T10:30:00", &[])).contains("time of day"));
    assert!(reason(parse_date("2024-02-04 00:00:01", &[])).contains("time of day"));
    assert!(reason(parse_date("2024-02-04T00:00:00+08:00", &[])).contains("time of day"));
    for bad in [
        "",
        "yesterday",
        "2024",
        "2024-02",
        "2024-02-04-01",
        "2024-02/04",
        "45326",
        "24年2月4日",
    ] {
        assert!(parse_date(bad, &[]).is_err(), "{bad}");
    }
}

#[test]
fn decimals_exact() {
    let p = |s: &str| parse_decimal(s).map(|x| (x.mantissa(), x.scale()));
    assert_eq!(p("1234.50"), Ok((123_450, 2)));
    assert_eq!(p("1,234.50"), Ok((123_450, 2)));
    assert_eq!(p("1,234,567"), Ok((1_234_567, 0)));
    assert_eq!(p("-3"), Ok((-3, 0)));
    assert_eq!(p("+3"), Ok((3, 0)));
    assert_eq!(p(".5"), Ok((5, 1)));
    assert_eq!(p("0.1"), Ok((1, 1)));
    assert_eq!(p(" 42 "), Ok((42, 0)));
    assert_eq!(p("007.10"), Ok((710, 2)));
    // Precision beyond f64 is kept.
    assert_eq!(
        parse_decimal("12345678901234567.89").map(|x| x.to_string()),
        Ok("12345678901234567.89".to_owned())
    );
    assert_eq!(
        "1234.50".parse::<Decimal>().map(|x| x.to_string()),
        Ok("1234.50".to_owned())
    );
}

#[test]
fn decimals_rejections() {
    assert!(reason(parse_decimal("1e5")).contains("scientific notation"));
    assert!(reason(parse_decimal("1.5E-3")).contains("scientific notation"));
    assert!(reason(parse_decimal("12.3.4")).contains("more than one decimal point"));
    assert!(reason(parse_decimal("1,23")).contains("decimal separator"));
    assert!(reason(parse_decimal("3,50")).contains("decimal separator"));
    assert!(reason(parse_decimal("12,3456")).contains("thousands separators"));
    assert!(reason(parse_decimal("1,2345.6")).contains("thousands separators"));
    assert!(reason(parse_decimal(",123")).contains("thousands separators"));
    assert!(reason(parse_decimal("1.234,5")).contains("comma after the decimal point"));
    assert!(reason(parse_decimal("12.")).contains("ends with a decimal point"));
    assert!(reason(parse_decimal("")).contains("empty"));
    assert!(reason(parse_decimal("1 234")).contains("not a number"));
    assert!(reason(parse_decimal("¥12")).contains("not a number"));
    assert!(reason(parse_decimal("12%")).contains("not a number"));
    assert!(reason(parse_decimal("1".repeat(40).as_str())).contains("too many digits"));
    for bad in ["-", "+", ".", "--1", "abc", "NaN", "inf", "１２"] {
        assert!(parse_decimal(bad).is_err(), "{bad}");
    }
}

#[test]
fn integers() {
    assert_eq!(parse_integer("42"), Ok(42));
    assert_eq!(parse_integer("-7"), Ok(-7));
    // Leading zeros are accepted: a number column has no use for them.
    assert_eq!(parse_integer("007"), Ok(7));
    assert_eq!(parse_integer("1,234"), Ok(1234));
    assert_eq!(parse_integer("9223372036854775807"), Ok(i64::MAX));
    assert!(reason(parse_integer("1.0")).contains("decimal point"));
    assert!(reason(parse_integer("1e3")).contains("scientific notation"));
    assert!(reason(parse_integer("9223372036854775808")).contains("too large"));
    assert!(reason(parse_integer("1,23")).contains("thousands separators"));
    for bad in ["", "x", "1 2", "0x10"] {
        assert!(parse_integer(bad).is_err(), "{bad}");
    }
}

#[test]
fn money_accepted_forms() {
    let cny = |s: &str| parse_money(s, None);
    assert_eq!(cny("¥1,234.50"), Ok((123_450, "CNY".into())));
    assert_eq!(cny("￥1234.5"), Ok((123_450, "CNY".into())));
    assert_eq!(cny("1234.50 CNY"), Ok((123_450, "CNY".into())));
    assert_eq!(cny("CNY 1234.5"), Ok((123_450, "CNY".into())));
    assert_eq!(cny("cny1234.5"), Ok((123_450, "CNY".into())));
    assert_eq!(cny("100元"), Ok((10_000, "CNY".into())));
    assert_eq!(cny("RMB 8"), Ok((800, "CNY".into())));
    assert_eq!(cny("8 rmb"), Ok((800, "CNY".into())));
    assert_eq!(cny("$12"), Ok((1200, "USD".into())));
    assert_eq!(cny("US$12.01"), Ok((1201, "USD".into())));
    assert_eq!(cny("HK$10"), Ok((1000, "HKD".into())));
    assert_eq!(cny("€3.50"), Ok((350, "EUR".into())));
    assert_eq!(cny("£0.99"), Ok((99, "GBP".into())));
    assert_eq!(cny("JPY 1,234"), Ok((1234, "JPY".into())));
    assert_eq!(cny("JP¥1234"), Ok((1234, "JPY".into())));
    assert_eq!(cny("₩5000"), Ok((5000, "KRW".into())));
    assert_eq!(cny("-¥12"), Ok((-1200, "CNY".into())));
    assert_eq!(cny("¥-12"), Ok((-1200, "CNY".into())));
    assert_eq!(cny("$12 USD"), Ok((1200, "USD".into())));
    assert_eq!(cny("$12 HKD"), Ok((1200, "HKD".into())));
    // Extra zero decimals are the same value, so they are fine.
    assert_eq!(cny("¥1.230"), Ok((123, "CNY".into())));
    assert_eq!(cny("JPY 1234.00"), Ok((1234, "JPY".into())));
    // Bare amounts use the default; ambiguous symbols follow it.
    assert_eq!(
        parse_money("1234.5", Some("CNY")),
        Ok((123_450, "CNY".into()))
    );
    assert_eq!(parse_money("¥1234", Some("JPY")), Ok((1234, "JPY".into())));
    assert_eq!(parse_money("$5", Some("SGD")), Ok((500, "SGD".into())));
    assert_eq!(parse_money("¥5", Some("USD")), Ok((500, "CNY".into())));
}

#[test]
fn money_rejections() {
    assert!(reason(parse_money("€3,50", None)).contains("ambiguous"));
    assert!(reason(parse_money("€3,500", None)).contains("ambiguous"));
    assert!(reason(parse_money("¥1.234", None)).contains("at most 2"));
    assert!(reason(parse_money("JPY 100.5", None)).contains("at most 0"));
    assert!(reason(parse_money("¥100.5", Some("JPY"))).contains("at most 0"));
    assert!(reason(parse_money("1234.50", None)).contains("no currency"));
    assert!(reason(parse_money("12 XYZ", None)).contains("not a supported currency"));
    assert!(reason(parse_money("1", Some("XYZ"))).contains("default currency"));
    assert!(reason(parse_money("$12 CNY", None)).contains("two different currencies"));
    assert!(reason(parse_money("¥12 USD", None)).contains("two different currencies"));
    assert!(reason(parse_money("-¥-12", None)).contains("two signs"));
    assert!(reason(parse_money("¥1e5", None)).contains("scientific notation"));
    assert!(reason(parse_money("¥1,23", None)).contains("not a valid amount"));
    assert!(reason(parse_money("¥99999999999999999999", None)).contains("too large"));
    for bad in ["", "¥", "CNY", "abc", "¥ 1 2"] {
        assert!(parse_money(bad, Some("CNY")).is_err(), "{bad}");
    }
}

#[test]
fn bools() {
    for t in ["true", "Yes", "Y", "1", "是", "真"] {
        assert_eq!(parse_bool(t), Ok(true), "{t}");
    }
    for f in ["FALSE", "no", "n", "0", "否", "假"] {
        assert_eq!(parse_bool(f), Ok(false), "{f}");
    }
    assert!(reason(parse_bool("maybe")).contains("not a yes/no value"));
    assert!(reason(parse_bool("")).contains("empty"));
}
