use super::*;
use chrono::TimeZone;

const KINDS: &[&str] = &["PERSON", "COMPANY"];

static FIELDS: &[FieldSpec] = &[
    FieldSpec {
        name: "name",
        column: "display_name",
        ty: FieldType::Text,
        sortable: true,
    },
    FieldSpec {
        name: "age",
        column: "age",
        ty: FieldType::Integer,
        sortable: true,
    },
    FieldSpec {
        name: "score",
        column: "score",
        ty: FieldType::Float,
        sortable: false,
    },
    FieldSpec {
        name: "active",
        column: "is_active",
        ty: FieldType::Bool,
        sortable: false,
    },
    FieldSpec {
        name: "create_time",
        column: "created_at",
        ty: FieldType::Timestamp,
        sortable: true,
    },
    FieldSpec {
        name: "owner",
        column: "owner_id",
        ty: FieldType::Uuid,
        sortable: false,
    },
    FieldSpec {
        name: "kind",
        column: "kind",
        ty: FieldType::Enum(KINDS),
        sortable: true,
    },
];

static SCHEMA: Schema = Schema {
    fields: FIELDS,
    id_column: "id",
};

const LIKE: &str = "ESCAPE '\\'";

fn ok(filter: &str) -> (String, Vec<SqlValue>) {
    let mut buf = SqlBuf::default();
    assert_eq!(compile(filter, &SCHEMA, &mut buf), Ok(true), "{filter}");
    (buf.sql, buf.binds)
}

fn fail(filter: &str) -> String {
    let mut buf = SqlBuf::new("x");
    let e = compile(filter, &SCHEMA, &mut buf).expect_err(filter);
    assert_eq!(e.field, "filter");
    assert_eq!(buf.sql, "x", "buf must be untouched on error");
    assert!(buf.binds.is_empty());
    assert_eq!(e.to_string(), e.message);
    e.message
}

fn text(s: &str) -> SqlValue {
    SqlValue::Text(s.into())
}

fn int(n: i64) -> SqlValue {
    SqlValue::Int(n)
}

#[test]
fn empty_filter_appends_nothing() {
    for f in ["", "   ", "\n\t "] {
        let mut buf = SqlBuf::new("SELECT 1");
        assert_eq!(compile(f, &SCHEMA, &mut buf), Ok(false));
        assert_eq!(buf.sql, "SELECT 1");
        assert!(buf.binds.is_empty());
    }
}

#[test]
fn integer_comparisons() {
    for (op, sql_op) in [
        ("=", "="),
        ("<", "<"),
        ("<=", "<="),
        (">", ">"),
        (">=", ">="),
    ] {
        let (sql, binds) = ok(&format!("age {op} 42"));
        assert_eq!(sql, format!("(age {sql_op} $1)"));
        assert_eq!(binds, vec![int(42)]);
    }
    assert_eq!(ok("age>-5"), ("(age > $1)".into(), vec![int(-5)]));
    assert_eq!(ok("age:*"), ("(age IS NOT NULL)".into(), vec![]));
}

#[test]
fn not_equal_is_null_safe() {
    assert_eq!(
        ok("age != 3"),
        ("(age <> $1 OR age IS NULL)".into(), vec![int(3)])
    );
    assert_eq!(
        ok("name != \"x\" AND age = 1"),
        (
            "((display_name <> $1 OR display_name IS NULL) AND age = $2)".into(),
            vec![text("x"), int(1)]
        )
    );
}

#[test]
fn text_comparisons() {
    assert_eq!(
        ok("name = \"Ann Lee\""),
        ("(display_name = $1)".into(), vec![text("Ann Lee")])
    );
    assert_eq!(
        ok("name = ann"),
        ("(display_name = $1)".into(), vec![text("ann")])
    );
    assert_eq!(
        ok("name = 42"),
        ("(display_name = $1)".into(), vec![text("42")])
    );
    assert_eq!(
        ok("name < 'm'"),
        ("(display_name < $1)".into(), vec![text("m")])
    );
    assert_eq!(ok("name >= \"b\"").0, "(display_name >= $1)");
    assert_eq!(
        ok(r#"name = 'it\'s' OR name = "say \"hi\"\n\\""#).1,
        vec![text("it's"), text("say \"hi\"\n\\")]
    );
}

#[test]
fn text_has_is_escaped_substring() {
    assert_eq!(
        ok("name:\"Acme\""),
        (
            format!("(LOWER(display_name) LIKE LOWER($1) {LIKE})"),
            vec![text("%Acme%")]
        )
    );
    assert_eq!(ok(r#"name:"50%_off\\""#).1, vec![text(r"%50\%\_off\\%")]);
    assert_eq!(ok(r#"name:'a"b\'c'"#).1, vec![text("%a\"b'c%")]);
    assert_eq!(ok("name:acme").1, vec![text("%acme%")]);
    assert_eq!(
        ok("name:*"),
        (
            "(display_name IS NOT NULL AND display_name <> '')".into(),
            vec![]
        )
    );
}

#[test]
fn float_bool_timestamp_uuid_enum() {
    assert_eq!(
        ok("score >= 2.5"),
        ("(score >= $1)".into(), vec![SqlValue::Float(2.5)])
    );
    assert_eq!(ok("score < -3").1, vec![SqlValue::Float(-3.0)]);
    assert_eq!(
        ok("active = true"),
        ("(is_active = $1)".into(), vec![SqlValue::Bool(true)])
    );
    assert_eq!(
        ok("active != false"),
        (
            "(is_active <> $1 OR is_active IS NULL)".into(),
            vec![SqlValue::Bool(false)]
        )
    );
    let t = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("valid");
    assert_eq!(
        ok("create_time > \"2026-01-01T00:00:00Z\""),
        ("(created_at > $1)".into(), vec![SqlValue::Timestamp(t)])
    );
    assert_eq!(
        ok("create_time <= '2026-01-01T02:00:00+02:00'").1,
        vec![SqlValue::Timestamp(t)]
    );
    let precise = ok("create_time = \"2026-01-01T00:00:00.123456789Z\"").1;
    assert_eq!(
        precise,
        vec![SqlValue::Timestamp(
            t + chrono::Duration::nanoseconds(123_456_789)
        )]
    );
    let id = "01912345-6789-7abc-8def-0123456789ab";
    assert_eq!(
        ok(&format!("owner = \"{id}\"")),
        (
            "(owner_id = $1)".into(),
            vec![SqlValue::Uuid(uuid::Uuid::parse_str(id).expect("uuid"))]
        )
    );
    assert_eq!(
        ok(&format!("owner != '{id}'")).0,
        "(owner_id <> $1 OR owner_id IS NULL)"
    );
    assert_eq!(
        ok("kind = PERSON"),
        ("(kind = $1)".into(), vec![text("PERSON")])
    );
    assert_eq!(ok("kind != \"COMPANY\"").1, vec![text("COMPANY")]);
    for presence in ["active:*", "create_time:*", "owner:*", "kind:*", "score:*"] {
        assert!(ok(presence).0.ends_with(" IS NOT NULL)"), "{presence}");
    }
}

#[test]
fn or_binds_tighter_than_and_as_in_aip_160() {
    assert_eq!(
        ok("age = 1 OR age = 2 AND age = 3"),
        (
            "((age = $1 OR age = $2) AND age = $3)".into(),
            vec![int(1), int(2), int(3)]
        )
    );
    assert_eq!(
        ok("age = 1 AND age = 2 OR age = 3").0,
        "(age = $1 AND (age = $2 OR age = $3))"
    );
    assert_eq!(
        ok("age = 1 OR age = 2 OR age = 3").0,
        "(age = $1 OR age = $2 OR age = $3)"
    );
}

#[test]
fn parentheses_group() {
    assert_eq!(
        ok("(age = 1 OR age = 2) AND kind = PERSON"),
        (
            "((age = $1 OR age = $2) AND kind = $3)".into(),
            vec![int(1), int(2), text("PERSON")]
        )
    );
    assert_eq!(ok("((age = 1))").0, "(age = $1)");
}

#[test]
fn not_and_minus() {
    assert_eq!(
        ok("NOT age = 1"),
        ("((age = $1) IS NOT TRUE)".into(), vec![int(1)])
    );
    assert_eq!(ok("-kind = PERSON").0, "((kind = $1) IS NOT TRUE)");
    assert_eq!(ok("- kind = PERSON").0, "((kind = $1) IS NOT TRUE)");
    assert_eq!(
        ok("NOT (age = 1 OR age = 2)").0,
        "((age = $1 OR age = $2) IS NOT TRUE)"
    );
    assert_eq!(
        ok("NOT age != 1").0,
        "((age <> $1 OR age IS NULL) IS NOT TRUE)"
    );
    assert_eq!(
        ok("NOT NOT age = 1").0,
        "(((age = $1) IS NOT TRUE) IS NOT TRUE)"
    );
    assert_eq!(
        ok("age = 1 AND NOT age = 2").0,
        "(age = $1 AND ((age = $2) IS NOT TRUE))"
    );
}

#[test]
fn adjacent_terms_are_and() {
    assert_eq!(
        ok("kind = PERSON name:ann"),
        (
            format!("(kind = $1 AND LOWER(display_name) LIKE LOWER($2) {LIKE})"),
            vec![text("PERSON"), text("%ann%")]
        )
    );
    assert_eq!(
        ok("age = 1 -age = 2 (age = 3) OR age = 4").0,
        "(age = $1 AND ((age = $2) IS NOT TRUE) AND (age = $3 OR age = $4))"
    );
}

#[test]
fn placeholders_continue_after_existing_binds() {
    let mut buf = SqlBuf::new("SELECT * FROM t WHERE tenant_id = ");
    buf.push_bind(text("t1"));
    buf.push(" AND ");
    assert_eq!(compile("age = 1 OR name:x", &SCHEMA, &mut buf), Ok(true));
    assert_eq!(
        buf.sql,
        format!(
            "SELECT * FROM t WHERE tenant_id = $1 AND (age = $2 OR LOWER(display_name) LIKE LOWER($3) {LIKE})"
        )
    );
    assert_eq!(buf.binds, vec![text("t1"), int(1), text("%x%")]);
}

#[test]
fn unknown_field_lists_allowed() {
    assert_eq!(
        fail("foo = 1"),
        "unknown field \"foo\" (allowed: name, age, score, active, create_time, owner, kind)"
    );
    assert!(fail("age = 1 and age = 2").starts_with("unknown field \"and\""));
}

#[test]
fn type_mismatches_name_field_and_type() {
    let cases = [
        (
            "age = \"x\"",
            "invalid value \"x\" for field \"age\": expected an integer",
        ),
        (
            "age = 1.5",
            "invalid value \"1.5\" for field \"age\": expected an integer",
        ),
        (
            "age = abc",
            "invalid value \"abc\" for field \"age\": expected an integer",
        ),
        (
            "score = 'x'",
            "invalid value 'x' for field \"score\": expected a number",
        ),
        (
            "active = \"true\"",
            "invalid value \"true\" for field \"active\": expected true or false",
        ),
        (
            "active = yes",
            "invalid value \"yes\" for field \"active\": expected true or false",
        ),
        (
            "owner = \"nope\"",
            "invalid value \"nope\" for field \"owner\": expected a quoted UUID",
        ),
        (
            "kind = person",
            "invalid value \"person\" for field \"kind\": expected one of PERSON, COMPANY",
        ),
        (
            "create_time > \"yesterday\"",
            "invalid value \"yesterday\" for field \"create_time\": expected a quoted RFC-3339 timestamp such as \"2026-01-01T00:00:00Z\"",
        ),
        (
            "create_time > 2026",
            "invalid value \"2026\" for field \"create_time\": expected a quoted RFC-3339 timestamp such as \"2026-01-01T00:00:00Z\"",
        ),
        (
            "age = 99999999999999999999",
            "integer \"99999999999999999999\" for field \"age\" is out of range",
        ),
    ];
    for (filter, message) in cases {
        assert_eq!(fail(filter), message, "{filter}");
    }
}

#[test]
fn unsupported_operators() {
    assert_eq!(
        fail("age:5"),
        "operator \":\" is not supported for integer field \"age\"; use \"age:*\" to test presence"
    );
    assert_eq!(
        fail("active < true"),
        "operator \"<\" is not supported for bool field \"active\""
    );
    assert_eq!(
        fail("kind >= PERSON"),
        "operator \">=\" is not supported for enum field \"kind\""
    );
    assert_eq!(
        fail("owner:\"x\"").split(';').next(),
        Some("operator \":\" is not supported for uuid field \"owner\"")
    );
    assert_eq!(fail("create_time:\"2026\"").split(';').count(), 2);
    assert_eq!(
        fail("name = *"),
        "\"*\" at offset 7 is only allowed in \"name:*\""
    );
}

#[test]
fn syntax_errors_name_the_position() {
    let cases = [
        ("name = \"abc", "unterminated string starting at offset 7"),
        ("name = 'abc\\", "unterminated string starting at offset 7"),
        (
            "age = 1 )",
            "unexpected token \")\" at offset 8, expected AND, OR or the end of the filter",
        ),
        (
            "()",
            "unexpected token \")\" at offset 1, expected a field name",
        ),
        (
            "age = 1 AND ()",
            "unexpected token \")\" at offset 13, expected a field name",
        ),
        ("(age = 1", "unexpected end of filter, expected \")\""),
        ("age =", "unexpected end of filter, expected a value"),
        (
            "age",
            "unexpected end of filter, expected an operator after \"age\"",
        ),
        (
            "age age",
            "unexpected token \"age\" at offset 4, expected an operator after \"age\"",
        ),
        (
            "age = 1 AND",
            "unexpected end of filter, expected a field name",
        ),
        (
            "age = 1 AND OR age = 2",
            "unexpected token \"OR\" at offset 12, expected a field name",
        ),
        (
            "OR",
            "unexpected token \"OR\" at offset 0, expected a field name",
        ),
        (
            "kind = AND",
            "unexpected token \"AND\" at offset 7, expected a value",
        ),
        (
            "age = = 1",
            "unexpected token \"=\" at offset 6, expected a value",
        ),
        (
            "= 1",
            "unexpected token \"=\" at offset 0, expected a field name",
        ),
        (
            "\"x\" = 1",
            "unexpected token \"x\" at offset 0, expected a field name",
        ),
        ("age = 1 # x", "unexpected character \"#\" at offset 8"),
        ("age ! 1", "unexpected character \"!\" at offset 4"),
        ("-", "unexpected end of filter, expected a field name"),
        ("NOT", "unexpected end of filter, expected a field name"),
        (
            "name = \"é\" )",
            "unexpected token \")\" at offset 11, expected AND, OR or the end of the filter",
        ),
        (
            "age = 1 \"x\"",
            "unexpected token \"x\" at offset 8, expected AND, OR or the end of the filter",
        ),
    ];
    for (filter, message) in cases {
        assert_eq!(fail(filter), message, "{filter}");
    }
}

#[test]
fn nesting_is_limited() {
    let nested = |n: usize| format!("{}age = 1{}", "(".repeat(n), ")".repeat(n));
    assert_eq!(ok(&nested(MAX_FILTER_DEPTH)).0, "(age = $1)");
    let message = "filter is nested too deeply (maximum 32 levels)";
    assert_eq!(fail(&nested(MAX_FILTER_DEPTH + 1)), message);
    assert!(ok(&format!("{}age = 1", "NOT ".repeat(MAX_FILTER_DEPTH))).1 == vec![int(1)]);
    assert_eq!(
        fail(&format!("{}age = 1", "-".repeat(MAX_FILTER_DEPTH + 1))),
        message
    );
    assert_eq!(fail(&"(".repeat(1_000)), message);
}

#[test]
fn length_is_limited() {
    let long = format!("name = \"{}\"", "a".repeat(MAX_FILTER_CHARS - 9));
    assert_eq!(long.chars().count(), MAX_FILTER_CHARS);
    assert_eq!(ok(&long).1.len(), 1);
    let too_long = format!("name = \"{}\"", "é".repeat(MAX_FILTER_CHARS - 8));
    assert_eq!(
        fail(&too_long),
        "filter is too long (2001 characters, maximum 2000)"
    );
}

#[test]
fn long_flat_chains_do_not_recurse() {
    let filter = vec!["age = 1"; 150].join(" OR ");
    let (sql, binds) = ok(&filter);
    assert_eq!(binds.len(), 150);
    assert!(sql.ends_with("OR age = $150)"));
}

#[test]
fn caller_text_never_reaches_sql() {
    let (sql, binds) = ok("name = \"x'); DROP TABLE t; --\" OR name:\"' OR 1=1 --\"");
    assert!(!sql.contains("DROP") && !sql.contains("1=1"), "{sql}");
    assert_eq!(binds.len(), 2);
}

/// Digits only, as a phone field might store them; no digits is no phone.
fn digits(raw: &str) -> Result<String, String> {
    let d: String = raw.chars().filter(char::is_ascii_digit).collect();
    if d.is_empty() || raw.chars().any(char::is_alphabetic) {
        return Err("must be digits".into());
    }
    Ok(d)
}

fn needs_at(raw: &str) -> Result<String, String> {
    let s = raw.trim();
    if s.contains('@') {
        Ok(s.to_owned())
    } else {
        Err("must be an email address".into())
    }
}

fn trimmed(raw: &str) -> Result<String, String> {
    Ok(raw.trim().to_owned())
}

static DIGITS: Normalizer = Normalizer {
    exact: digits,
    partial: digits,
    ignore_case: false,
};

static MAIL: Normalizer = Normalizer {
    exact: needs_at,
    partial: trimmed,
    ignore_case: true,
};

static NORMALIZED: Schema = Schema {
    id_column: "id",
    fields: &[
        FieldSpec {
            name: "phone",
            column: "phone",
            ty: FieldType::Normalized(&DIGITS),
            sortable: false,
        },
        FieldSpec {
            name: "mail",
            column: "mail",
            ty: FieldType::Normalized(&MAIL),
            sortable: false,
        },
    ],
};

fn ok_normalized(filter: &str) -> (String, Vec<SqlValue>) {
    let mut buf = SqlBuf::default();
    assert_eq!(compile(filter, &NORMALIZED, &mut buf), Ok(true), "{filter}");
    (buf.sql, buf.binds)
}

fn fail_normalized(filter: &str) -> String {
    let mut buf = SqlBuf::new("x");
    let e = compile(filter, &NORMALIZED, &mut buf).expect_err(filter);
    assert_eq!(e.field, "filter");
    assert_eq!(buf.sql, "x", "buf must be untouched on error");
    assert!(buf.binds.is_empty());
    e.message
}

#[test]
fn normalized_equality_rewrites_the_literal() {
    assert_eq!(
        ok_normalized("phone = \"138-0013 8000\""),
        ("(phone = $1)".into(), vec![text("13800138000")])
    );
    assert_eq!(
        ok_normalized("phone = 13800138000"),
        ("(phone = $1)".into(), vec![text("13800138000")])
    );
    assert_eq!(
        ok_normalized("phone != '(0)12'"),
        ("(phone <> $1 OR phone IS NULL)".into(), vec![text("012")])
    );
    assert_eq!(
        ok_normalized("NOT phone = \"1 2\"").1,
        vec![text("12")],
        "under NOT too"
    );
}

#[test]
fn normalized_has_uses_the_partial_rewrite() {
    assert_eq!(
        ok_normalized("phone:\"(0013) 80\""),
        (
            format!("(LOWER(phone) LIKE LOWER($1) {LIKE})"),
            vec![text("%001380%")]
        )
    );
    // The partial rewrite's output is escaped like any substring.
    assert_eq!(ok_normalized("mail:\" a_b% \"").1, vec![text(r"%a\_b\%%")]);
    assert_eq!(
        ok_normalized("mail:acme").1,
        vec![text("%acme%")],
        "a partial email is fine for :"
    );
    assert_eq!(
        ok_normalized("phone:*").0,
        "(phone IS NOT NULL AND phone <> '')",
        "presence as for text"
    );
}

#[test]
fn normalized_ignore_case_folds_both_sides() {
    assert_eq!(
        ok_normalized("mail = \" Info@Acme.example \""),
        (
            "(LOWER(mail) = LOWER($1))".into(),
            vec![text("Info@Acme.example")]
        )
    );
    assert_eq!(
        ok_normalized("mail != \"a@b.c\""),
        (
            "(LOWER(mail) <> LOWER($1) OR mail IS NULL)".into(),
            vec![text("a@b.c")]
        )
    );
    assert_eq!(
        ok_normalized("mail = \"a@b.c\" OR phone = 1").0,
        "(LOWER(mail) = LOWER($1) OR phone = $2)"
    );
}

#[test]
fn normalized_ordering_takes_the_literal_as_written() {
    assert_eq!(
        ok_normalized("phone >= \"+86\""),
        ("(phone >= $1)".into(), vec![text("+86")])
    );
    assert_eq!(
        ok_normalized("mail < M").1,
        vec![text("M")],
        "no rewrite, no folding"
    );
}

#[test]
fn normalized_bad_literals_name_the_field() {
    for (filter, message) in [
        (
            "phone = \"abc\"",
            "invalid value \"abc\" for field \"phone\": must be digits",
        ),
        (
            "phone != abc",
            "invalid value \"abc\" for field \"phone\": must be digits",
        ),
        (
            "phone:'x1'",
            "invalid value 'x1' for field \"phone\": must be digits",
        ),
        (
            "mail = 'nobody'",
            "invalid value 'nobody' for field \"mail\": must be an email address",
        ),
        (
            "mail:x AND mail = y",
            "invalid value \"y\" for field \"mail\": must be an email address",
        ),
    ] {
        assert_eq!(fail_normalized(filter), message, "{filter}");
    }
    assert_eq!(
        fail_normalized("phone = *"),
        "\"*\" at offset 8 is only allowed in \"phone:*\""
    );
}

#[test]
fn dynamic_fields_may_be_normalized() {
    let resolve = |name: &str| {
        (name == "custom.tel").then(|| DynamicField {
            column: "json_extract(c, '$.tel')".into(),
            ty: FieldType::Normalized(&DIGITS),
        })
    };
    let mut buf = SqlBuf::default();
    assert_eq!(
        compile_with("custom.tel = \"1-2\"", &SCHEMA, Some(&resolve), &mut buf),
        Ok(true)
    );
    assert_eq!(buf.sql, "(json_extract(c, '$.tel') = $1)");
    assert_eq!(buf.binds, vec![text("12")]);
    let mut buf = SqlBuf::default();
    let e =
        compile_with("custom.tel = x", &SCHEMA, Some(&resolve), &mut buf).expect_err("not digits");
    assert_eq!(
        e.message,
        "invalid value \"x\" for field \"custom.tel\": must be digits"
    );
}
