use super::*;
use chrono::TimeZone;

const KINDS: &[&str] = &["PERSON", "COMPANY"];

const fn field(
    name: &'static str,
    column: &'static str,
    ty: FieldType,
    sortable: bool,
) -> FieldSpec {
    FieldSpec {
        name,
        column,
        ty,
        sortable,
    }
}

static FIELDS: &[FieldSpec] = &[
    field("name", "display_name", FieldType::Text, true),
    field("age", "age", FieldType::Integer, true),
    field("score", "score", FieldType::Float, true),
    field("active", "is_active", FieldType::Bool, true),
    field("create_time", "created_at", FieldType::Timestamp, true),
    field("owner", "owner_id", FieldType::Uuid, true),
    field("kind", "kind", FieldType::Enum(KINDS), true),
    field("note", "note", FieldType::Text, false),
    field("id", "id", FieldType::Uuid, true),
];

static SCHEMA: Schema = Schema {
    fields: FIELDS,
    id_column: "id",
};

const ALL_KEYS: &str = "name, age desc, score, active, create_time desc, owner, kind";

fn order(order_by: &str) -> OrderBy {
    OrderBy::parse(order_by, "create_time desc", &SCHEMA).expect(order_by)
}

fn order_error(order_by: &str, default: &str) -> String {
    let e = OrderBy::parse(order_by, default, &SCHEMA).expect_err(order_by);
    assert_eq!(e.field, "order_by");
    e.message
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(0x0191_2345_6789_7abc_8def_0000_0000_0000 | n)
}

fn full_cursor() -> Cursor {
    let t = Utc
        .with_ymd_and_hms(2026, 3, 4, 5, 6, 7)
        .single()
        .expect("valid")
        + chrono::Duration::nanoseconds(123_456_789);
    Cursor {
        values: vec![
            SqlValue::Text("Zoë \"Q\" O'Neil/\\%".into()),
            SqlValue::Int(-42),
            SqlValue::Float(0.1 + 0.2),
            SqlValue::Bool(true),
            SqlValue::Timestamp(t),
            SqlValue::Uuid(id(7)),
            SqlValue::Text("PERSON".into()),
        ],
        id: id(1),
    }
}

fn token_error(token: &str, filter: &str, order_by: &str) -> String {
    let e = decode_token(token, filter, order_by, &order(order_by)).expect_err(token);
    assert_eq!(e.field, "page_token");
    e.message
}

fn raw_token(json: &str) -> String {
    URL_SAFE_NO_PAD.encode(json)
}

#[test]
fn page_size_defaults_and_coerces() {
    assert_eq!(page_size(0), Ok(DEFAULT_PAGE_SIZE));
    assert_eq!(page_size(1), Ok(1));
    assert_eq!(page_size(1000), Ok(1000));
    assert_eq!(page_size(1001), Ok(MAX_PAGE_SIZE));
    assert_eq!(page_size(i32::MAX), Ok(MAX_PAGE_SIZE));
    let e = page_size(-1).expect_err("negative");
    assert_eq!(e.field, "page_size");
    assert_eq!(e.message, "page_size must not be negative, got -1");
}

#[test]
fn order_by_parses_keys_and_tiebreak() {
    let o = order("");
    assert_eq!(o.sql(), " ORDER BY created_at DESC, id DESC");
    assert_eq!(o.field_names(), vec!["create_time"]);

    let o = order("name, age desc");
    assert_eq!(o.sql(), " ORDER BY display_name ASC, age DESC, id DESC");
    assert_eq!(o.field_names(), vec!["name", "age"]);

    assert_eq!(
        order("  age   DESC ,name Asc ").sql(),
        " ORDER BY age DESC, display_name ASC, id ASC"
    );
    assert_eq!(order("kind asc").sql(), " ORDER BY kind ASC, id ASC");
    assert_eq!(order("id desc").sql(), " ORDER BY id DESC");
    assert_eq!(
        order("name, id").sql(),
        " ORDER BY display_name ASC, id ASC"
    );

    let none = OrderBy::parse(" ", "", &SCHEMA).expect("empty default");
    assert_eq!(none.sql(), " ORDER BY id ASC");
    assert!(none.field_names().is_empty());
}

#[test]
fn order_by_errors() {
    let sortable = "name, age, score, active, create_time, owner, kind, id";
    let cases = [
        (
            "foo",
            format!("unknown field \"foo\" (sortable: {sortable})"),
        ),
        (
            "note desc",
            format!("field \"note\" is not sortable (sortable: {sortable})"),
        ),
        (
            "name, age, name desc",
            "field \"name\" appears more than once in order_by".into(),
        ),
        (
            "name up",
            "invalid sort direction \"up\" for field \"name\" (expected asc or desc)".into(),
        ),
        ("name,", "order_by has an empty item".into()),
        (", name", "order_by has an empty item".into()),
        (
            "name desc age",
            "invalid order_by item \"name desc age\" (expected \"field\" or \"field desc\")".into(),
        ),
        (
            "Name",
            format!("unknown field \"Name\" (sortable: {sortable})"),
        ),
    ];
    for (order_by, message) in cases {
        assert_eq!(order_error(order_by, ""), message, "{order_by}");
    }
    assert!(order_error("", "bogus").starts_with("unknown field \"bogus\""));
}

#[test]
fn keyset_with_one_key() {
    let o = order("age desc");
    let cursor = Cursor {
        values: vec![SqlValue::Int(5)],
        id: id(1),
    };
    let mut buf = SqlBuf::new("SELECT * FROM t WHERE tenant_id = ");
    buf.push_bind(SqlValue::Text("t1".into()));
    buf.push(" AND ");
    o.push_after(&cursor, &mut buf);
    assert_eq!(
        buf.sql,
        "SELECT * FROM t WHERE tenant_id = $1 AND (age < $2 OR (age = $3 AND id < $4))"
    );
    assert_eq!(
        buf.binds,
        vec![
            SqlValue::Text("t1".into()),
            SqlValue::Int(5),
            SqlValue::Int(5),
            SqlValue::Uuid(id(1))
        ]
    );
}

#[test]
fn keyset_with_three_keys() {
    let o = order("name, age desc, create_time");
    let t = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("valid");
    let cursor = Cursor {
        values: vec![
            SqlValue::Text("b".into()),
            SqlValue::Int(3),
            SqlValue::Timestamp(t),
        ],
        id: id(9),
    };
    let mut buf = SqlBuf::default();
    o.push_after(&cursor, &mut buf);
    assert_eq!(
        buf.sql,
        "(display_name > $1 OR (display_name = $2 AND (age < $3 OR (age = $4 AND \
         (created_at > $5 OR (created_at = $6 AND id > $7))))))"
    );
    assert_eq!(
        buf.binds,
        vec![
            SqlValue::Text("b".into()),
            SqlValue::Text("b".into()),
            SqlValue::Int(3),
            SqlValue::Int(3),
            SqlValue::Timestamp(t),
            SqlValue::Timestamp(t),
            SqlValue::Uuid(id(9)),
        ]
    );
}

#[test]
fn keyset_without_keys_or_with_id_key() {
    let mut buf = SqlBuf::default();
    let none = OrderBy::parse("", "", &SCHEMA).expect("empty");
    none.push_after(
        &Cursor {
            values: vec![],
            id: id(2),
        },
        &mut buf,
    );
    assert_eq!(buf.sql, "(id > $1)");
    assert_eq!(buf.binds, vec![SqlValue::Uuid(id(2))]);

    let mut buf = SqlBuf::default();
    let cursor = Cursor {
        values: vec![SqlValue::Uuid(id(3))],
        id: id(3),
    };
    order("id desc").push_after(&cursor, &mut buf);
    assert_eq!(buf.sql, "(id < $1)");
    assert_eq!(buf.binds, vec![SqlValue::Uuid(id(3))]);
}

#[test]
fn token_round_trips_every_value_type() {
    let cursor = full_cursor();
    let filter = "name:\"zoë\" AND age > 3";
    let token = encode_token(&cursor, filter, ALL_KEYS);
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{token}"
    );
    let back = decode_token(&token, filter, ALL_KEYS, &order(ALL_KEYS)).expect("decodes");
    assert_eq!(back, cursor);
}

#[test]
fn token_keeps_float_bits_exactly() {
    for f in [f64::NAN, f64::INFINITY, -0.0, f64::MIN_POSITIVE, 1e300] {
        let cursor = Cursor {
            values: vec![SqlValue::Float(f)],
            id: id(1),
        };
        let token = encode_token(&cursor, "", "score");
        let back = decode_token(&token, "", "score", &order("score")).expect("decodes");
        match back.values.as_slice() {
            [SqlValue::Float(g)] => assert_eq!(g.to_bits(), f.to_bits()),
            other => panic!("unexpected values {other:?}"),
        }
    }
}

#[test]
fn token_is_bound_to_filter_and_order() {
    let cursor = Cursor {
        values: vec![SqlValue::Int(1)],
        id: id(1),
    };
    let token = encode_token(&cursor, "kind = PERSON", "age");
    let mismatch = "page token does not match the filter and order_by of this request";
    assert_eq!(token_error(&token, "kind = COMPANY", "age"), mismatch);
    assert_eq!(token_error(&token, "", "age"), mismatch);
    assert_eq!(token_error(&token, "kind = PERSON", "age desc"), mismatch);
    // Spelling differences that do not change the query are accepted.
    for (filter, order_by) in [("  kind = PERSON ", "age ASC"), ("kind = PERSON", " age ")] {
        let back = decode_token(&token, filter, order_by, &order(order_by)).expect(order_by);
        assert_eq!(back, cursor);
    }
}

#[test]
fn malformed_tokens_are_rejected() {
    let malformed = "page token is malformed";
    let good = encode_token(&full_cursor(), "", ALL_KEYS);
    let truncated = &good[..good.len() - 5];
    for token in [
        "",
        "!!!",
        "abc",
        &raw_token("null"),
        &raw_token("{}"),
        truncated,
    ] {
        assert_eq!(token_error(token, "", ALL_KEYS), malformed, "{token}");
    }
    let huge = "A".repeat(MAX_TOKEN_BYTES + 1);
    assert_eq!(token_error(&huge, "", "age"), "page token is too long");
}

#[test]
fn tampered_tokens_are_rejected() {
    let q = fingerprint("", "name");
    let uuid = id(1);
    let token = |k: &str| raw_token(&format!(r#"{{"v":1,"q":"{q}","k":{k},"id":"{uuid}"}}"#));
    let order_by = "name";
    assert_eq!(
        decode_token(&token(r#"[{"s":"x"}]"#), "", order_by, &order(order_by)),
        Ok(Cursor {
            values: vec![SqlValue::Text("x".into())],
            id: uuid
        })
    );
    for k in [
        r#"[{"i":5}]"#,
        r#"[{"u":"01912345-6789-7abc-8def-000000000001"}]"#,
        r#"[{"t":"2026-01-01T00:00:00Z"}]"#,
        r#"[]"#,
        r#"[{"s":"x"},{"s":"y"}]"#,
        r#"[{"x":"y"}]"#,
        r#"[{"s":"x","i":1}]"#,
        r#"[{"i":"5"}]"#,
        r#"[{"t":"tomorrow"}]"#,
        r#"{"s":"x"}"#,
    ] {
        assert_eq!(
            token_error(&token(k), "", order_by),
            "page token is malformed",
            "{k}"
        );
    }
    let extra = raw_token(&format!(
        r#"{{"v":1,"q":"{q}","k":[{{"s":"x"}}],"id":"{uuid}","z":1}}"#
    ));
    assert_eq!(token_error(&extra, "", order_by), "page token is malformed");
    let bad_id = raw_token(&format!(
        r#"{{"v":1,"q":"{q}","k":[{{"s":"x"}}],"id":"nope"}}"#
    ));
    assert_eq!(
        token_error(&bad_id, "", order_by),
        "page token is malformed"
    );
    let old = raw_token(&format!(
        r#"{{"v":0,"q":"{q}","k":[{{"s":"x"}}],"id":"{uuid}"}}"#
    ));
    assert_eq!(
        token_error(&old, "", order_by),
        "page token is from an older version; start again without a page token"
    );
}

#[test]
fn enum_cursor_values_decode_as_text() {
    let cursor = Cursor {
        values: vec![SqlValue::Text("COMPANY".into())],
        id: id(4),
    };
    let token = encode_token(&cursor, "", "kind desc");
    assert_eq!(
        decode_token(&token, "", "kind desc", &order("kind desc")),
        Ok(cursor)
    );
}

#[test]
fn fnv1a64_matches_reference_vectors() {
    assert_eq!(fnv1a64(&[""]), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv1a64(&["a"]), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(fnv1a64(&["foobar"]), 0x8594_4171_f739_67e8);
    assert_ne!(fnv1a64(&["ab", "c"]), fnv1a64(&["a", "bc"]));
    assert_eq!(fingerprint("a = 1", "x"), fingerprint(" a = 1\n", "x asc"));
    assert_ne!(
        fingerprint("a = \"x y\"", ""),
        fingerprint("a = \"x  y\"", "")
    );
}

#[test]
fn order_by_normalization() {
    assert_eq!(normalize_order_by(" a  ASC, b DESC ,c"), "a,b desc,c");
    assert_eq!(normalize_order_by(""), "");
}
