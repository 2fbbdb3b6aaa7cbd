//! Header → field mapping.

use std::collections::HashMap;

use crm_tabular::header::HeaderError;
use crm_tabular::{Mapper, header_key};

const TABLE: &[(&str, &[&str])] = &[
    ("name", &["姓名", "客户名称", "Customer Name"]),
    ("phone", &["手机号", "电话", "Mobile", "Phone Number"]),
    ("email", &["邮箱", "E-mail"]),
    ("birthday", &["生日", "出生日期"]),
];

fn mapper(overrides: &[(&str, &str)]) -> Mapper {
    let o = overrides
        .iter()
        .map(|(h, f)| ((*h).to_owned(), (*f).to_owned()))
        .collect();
    Mapper::new(TABLE, o).expect("valid table")
}

#[test]
fn header_key_normalises() {
    assert_eq!(header_key("  Customer_Name "), "customername");
    assert_eq!(header_key("ＥＭＡＩＬ"), "email");
    assert_eq!(header_key("E-Mail*"), "email");
    assert_eq!(header_key("手机号（必填）"), "手机号");
    assert_eq!(header_key("手机号(必填) *"), "手机号");
    assert_eq!(header_key("phone.number"), "phonenumber");
}

#[test]
fn maps_aliases_in_both_languages() {
    let m = mapper(&[]);
    let headers = ["姓名（必填）", "MOBILE", "e_mail", "出生日期*", "备注", ""];
    let mapping = m.map(&headers);
    assert_eq!(
        mapping.columns,
        vec![
            Some("name".to_owned()),
            Some("phone".to_owned()),
            Some("email".to_owned()),
            Some("birthday".to_owned()),
            None,
            None
        ]
    );
    assert_eq!(mapping.unmapped, ["备注"]);
    assert!(mapping.duplicates.is_empty());
    assert_eq!(mapping.column_of("email"), Some(2));
    assert_eq!(
        mapping.overflow(&["a", "b", "c", "d", "e", "", "", ""]),
        None
    );
    assert_eq!(
        mapping.overflow(&["a", "b", "c", "d", "e", "", "", "x"]),
        Some(7)
    );
    // The field name itself is an alias.
    assert_eq!(m.map(&["Phone"]).columns, [Some("phone".to_owned())]);
}

#[test]
fn duplicates_are_reported_not_resolved() {
    let mapping = mapper(&[]).map(&["手机号", "姓名", "Phone Number", "电话"]);
    assert_eq!(
        mapping.duplicates,
        vec![("phone".to_owned(), vec![0, 2, 3])]
    );
    assert_eq!(mapping.column_of("phone"), None);
}

#[test]
fn overrides_and_custom_fields() {
    let m = mapper(&[
        ("备注", "custom_fields.note"),
        ("电话", ""),
        ("联系方式", "phone"),
    ]);
    let mapping = m.map(&[
        "联系方式",
        "电话",
        "备注",
        "custom_fields.vip_level",
        "Custom_Fields.Tier ",
    ]);
    assert_eq!(
        mapping.columns,
        vec![
            Some("phone".to_owned()),
            None,
            Some("custom_fields.note".to_owned()),
            Some("custom_fields.vip_level".to_owned()),
            Some("custom_fields.Tier".to_owned()),
        ]
    );
    assert!(mapping.unmapped.is_empty(), "{:?}", mapping.unmapped);
    assert!(mapping.duplicates.is_empty());
}

#[test]
fn configuration_mistakes_fail_at_construction() {
    let conflict: &[(&str, &[&str])] = &[("phone", &["电话"]), ("fax", &["电话 "])];
    assert!(matches!(
        Mapper::new(conflict, HashMap::new()),
        Err(HeaderError::AliasConflict { .. })
    ));
    let bad = HashMap::from([("x".to_owned(), "nonexistent".to_owned())]);
    assert!(matches!(
        Mapper::new(TABLE, bad),
        Err(HeaderError::UnknownField { .. })
    ));
    let prefix_only = HashMap::from([("x".to_owned(), "custom_fields.".to_owned())]);
    assert!(Mapper::new(TABLE, prefix_only).is_err());
}
