//! SummarizeCustomers on both databases: the caller's reach and filter decide which customers
//! count, weeks without customers are reported, and the Pareto curve matches the values the
//! test gave its customers (ties and a zero total included).
use super::row;
use crm_customers::{
    domain::Kind,
    error::Error,
    service::{Customers, ListParams},
    sharing::Grantee,
    statistics::{MAX_WEEKS, PARETO_PERCENTS, Statistics, week_start},
    store::{CustomerRow, MIGRATIONS, Store},
    transactions::{NewTransaction, Recorded},
};
use crm_platform::{
    auth::{DataScope, Principal, Subject},
    db::{self, Db},
};
use uuid::Uuid;

crm_platform::backend_tests!(MIGRATIONS;
    a_rep_sees_their_customers_and_an_admin_all_narrowed_by_the_filter,
    counts_by_stage_tier_kind_channel_and_region,
    weeks_include_those_without_new_customers,
    pareto_shares_follow_the_recorded_purchases,
    pareto_with_ties_a_zero_total_and_no_customers,
    a_bad_filter_or_week_count_names_the_field,
);

fn user(scope: impl FnOnce(Uuid) -> DataScope) -> Principal {
    let id = Uuid::now_v7();
    Principal {
        subject: Subject::User(id),
        unit_path: "/g/east/".into(),
        scopes: [("customers".to_owned(), scope(id))].into(),
        ..Principal::system()
    }
}

async fn summarize(c: &Customers, p: &Principal, filter: &str) -> Statistics {
    c.summarize(p, filter, 0).await.unwrap()
}

/// How many customers ListCustomers shows `p` with `filter`.
async fn listed(c: &Customers, p: &Principal, filter: &str) -> i64 {
    let params = ListParams {
        filter: filter.into(),
        page_size: 1000,
        ..ListParams::default()
    };
    c.list(p, &params).await.unwrap().0.len() as i64
}

async fn insert(store: &Store, row: &CustomerRow) {
    let mut tx = store.db().begin().await.unwrap();
    store
        .insert(&mut tx, row, None, |_| Vec::new())
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

fn count(entries: &[(String, i64)], name: &str) -> i64 {
    entries
        .iter()
        .find(|(n, _)| n == name)
        .map_or(0, |(_, c)| *c)
}

async fn a_rep_sees_their_customers_and_an_admin_all_narrowed_by_the_filter(db: Db) {
    let c = Customers::new(Store::new(db));
    let (ann, bob) = (user(DataScope::Own), user(DataScope::Own));
    let admin = user(|_| DataScope::All);
    for (name, kind) in [("Ann One", Kind::Person), ("Ann Org", Kind::Organization)] {
        crate::new_customer(&c, &ann, name, kind).await;
    }
    let mut bobs = Vec::new();
    for (name, kind) in [
        ("Bob One", Kind::Person),
        ("Bob Two", Kind::Person),
        ("Bob Org", Kind::Organization),
    ] {
        bobs.push(crate::new_customer(&c, &bob, name, kind).await);
    }

    let (mine, all) = (
        summarize(&c, &ann, "").await,
        summarize(&c, &admin, "").await,
    );
    assert_eq!(mine.total, 2, "a rep counts only their own customers");
    assert_eq!(
        mine.kinds,
        [("PERSON".into(), 1), ("ORGANIZATION".into(), 1)]
    );
    assert_eq!(all.total, 5, "an ALL-scope admin counts everyone's");
    assert_eq!(
        all.kinds,
        [("PERSON".into(), 3), ("ORGANIZATION".into(), 2)]
    );
    assert_eq!(summarize(&c, &bob, "").await.total, 3);

    // An explicit share counts, as it lists.
    c.share(&bob, bobs[2], Grantee::User(ann.user_id().unwrap()), false)
        .await
        .unwrap();
    let shared = summarize(&c, &ann, "").await;
    assert_eq!(shared.total, 3);
    assert_eq!(count(&shared.kinds, "ORGANIZATION"), 2);

    // The filter narrows, with ListCustomers' fields and syntax.
    for filter in [
        "",
        "kind = ORGANIZATION",
        "display_name:\"bob\"",
        "kind = PERSON AND NOT display_name:\"two\"",
    ] {
        for p in [&ann, &bob, &admin] {
            let stats = summarize(&c, p, filter).await;
            assert_eq!(stats.total, listed(&c, p, filter).await, "{filter:?}");
            let weeks: i64 = stats.weeks.iter().map(|w| w.1).sum();
            assert_eq!(weeks, stats.total, "all created this week: {filter:?}");
        }
    }
    let orgs = summarize(&c, &admin, "kind = ORGANIZATION").await;
    assert_eq!(orgs.total, 2);
    assert_eq!(
        orgs.kinds,
        [("ORGANIZATION".into(), 2)],
        "absent kinds are left out"
    );
    assert_eq!(summarize(&c, &ann, "display_name:\"bob\"").await.total, 1);
}

/// (region, stage, tier, channel, lifetime value) of a customer.
type Spec = (
    Option<String>,
    &'static str,
    &'static str,
    Option<&'static str>,
    i64,
);

async fn counts_by_stage_tier_kind_channel_and_region(db: Db) {
    let store = Store::new(db);
    let c = Customers::new(store.clone());
    let admin = user(|_| DataScope::All);
    let mut specs: Vec<Spec> = vec![
        (Some("R00".into()), "ACTIVE", "A", Some("STORE"), 900),
        (Some("R00".into()), "ACTIVE", "A", Some("STORE"), 100),
        (Some("R00".into()), "NEW", "B", Some("REFERRAL"), 50),
        (None, "PROSPECT", "C", None, 0),
        (Some(String::new()), "CHURNED", "C", Some("WEB_FORM"), 7),
    ];
    // 21 regions of one customer each, for 18 places in the top 20 after R00 and "".
    for i in 1..=21 {
        specs.push((Some(format!("R{i:02}")), "PROSPECT", "C", None, 0));
    }
    for (i, (region, stage, tier, channel, value)) in specs.iter().enumerate() {
        let mut r = row(&format!("Customer {i}"), None, "/g/");
        r.region = region.clone();
        r.lifecycle_stage = (*stage).into();
        r.value_tier = (*tier).into();
        r.source_channel = channel.map(str::to_owned);
        r.lifetime_value_minor = *value;
        insert(&store, &r).await;
    }
    let s = summarize(&c, &admin, "").await;
    assert_eq!(s.total, 26);
    assert_eq!(
        s.stages,
        [
            ("PROSPECT".into(), 22),
            ("NEW".into(), 1),
            ("ACTIVE".into(), 2),
            ("CHURNED".into(), 1)
        ],
        "stage order, AT_RISK absent"
    );
    assert_eq!(
        s.tiers,
        [
            ("A".into(), 2, 1000),
            ("B".into(), 1, 50),
            ("C".into(), 23, 7)
        ]
    );
    assert_eq!(s.lifetime_value, 1057);
    assert_eq!(s.kinds, [("PERSON".into(), 26)]);
    assert_eq!(
        s.channels,
        [
            (String::new(), 22),
            ("WEB_FORM".into(), 1),
            ("STORE".into(), 2),
            ("REFERRAL".into(), 1)
        ],
        "not known first, then channel order"
    );
    assert_eq!(s.regions.len(), 20);
    assert_eq!(s.regions[0], ("R00".into(), 3));
    assert_eq!(
        s.regions[1],
        (String::new(), 2),
        "no region and empty are one bucket"
    );
    assert!(
        s.regions[2..]
            .iter()
            .all(|(r, n)| r.starts_with('R') && *n == 1)
    );
    assert_eq!(s.other_regions, 3, "21 single regions, 18 listed");

    let east = summarize(&c, &admin, "region = \"R00\" AND value_tier = A").await;
    assert_eq!(
        (east.total, east.lifetime_value, east.other_regions),
        (2, 1000, 0)
    );
    assert_eq!(east.regions, [("R00".into(), 2)]);
    assert_eq!(east.channels, [("STORE".into(), 2)]);
}

async fn weeks_include_those_without_new_customers(db: Db) {
    let store = Store::new(db);
    let c = Customers::new(store.clone());
    let admin = user(|_| DataScope::All);
    let now = db::now();
    // Whole weeks back keep the weekday, so each lands exactly that many weeks back.
    for (name, weeks_ago) in [("A", 3), ("B", 3), ("C", 0), ("D", 5), ("E", 1)] {
        let at = now - chrono::Duration::weeks(weeks_ago);
        let r = CustomerRow {
            created_at: at,
            updated_at: at,
            ..row(name, None, "/g/")
        };
        insert(&store, &r).await;
    }
    let s = c.summarize(&admin, "", 4).await.unwrap();
    let counts: Vec<i64> = s.weeks.iter().map(|w| w.1).collect();
    assert_eq!(
        counts,
        [2, 0, 1, 1],
        "oldest first; the empty week is there"
    );
    assert_eq!(s.total, 5, "the week window narrows only the weeks");
    let mondays: Vec<_> = s.weeks.iter().map(|w| w.0).collect();
    assert_eq!(*mondays.last().unwrap(), week_start(now));
    for pair in mondays.windows(2) {
        assert_eq!(pair[1] - pair[0], chrono::Duration::days(7));
    }
    assert!(mondays.iter().all(|d| d.format("%a").to_string() == "Mon"));

    let default = c.summarize(&admin, "", 0).await.unwrap();
    assert_eq!(default.weeks.len(), 12);
    let counts: Vec<i64> = default.weeks.iter().map(|w| w.1).collect();
    assert_eq!(counts[6..], [1, 0, 2, 0, 1, 1]);
    let most = c.summarize(&admin, "", 1000).await.unwrap();
    assert_eq!(
        most.weeks.len(),
        MAX_WEEKS as usize,
        "lowered to the maximum"
    );
    let narrowed = c.summarize(&admin, "display_name = B", 4).await.unwrap();
    let counts: Vec<i64> = narrowed.weeks.iter().map(|w| w.1).collect();
    assert_eq!(counts, [1, 0, 0, 0]);
}

/// The share of the total held by the top `percent` of `values`, computed independently.
fn expected_share(values: &[i64], percent: i64) -> (i64, f64) {
    let mut sorted = values.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let top = ((values.len() as f64) * (percent as f64) / 100.0).ceil() as usize;
    let total: i64 = values.iter().sum();
    let held: i64 = sorted[..top].iter().sum();
    let share = if total > 0 {
        held as f64 / total as f64
    } else {
        0.0
    };
    (top as i64, share)
}

fn assert_curve(s: &Statistics, values: &[i64]) {
    let percents: Vec<i64> = s.pareto.iter().map(|p| p.percent).collect();
    assert_eq!(percents, PARETO_PERCENTS);
    for p in &s.pareto {
        let (top, share) = expected_share(values, p.percent);
        assert_eq!(p.customers, top, "{}%", p.percent);
        assert!(
            (p.share - share).abs() < 1e-12,
            "{}%: {} != {share}",
            p.percent,
            p.share
        );
    }
}

fn sale(reference: &str, amount_minor: i64) -> NewTransaction {
    NewTransaction {
        order_reference: reference.into(),
        order_time: db::now() - chrono::Duration::days(1),
        amount_minor,
        currency: "CNY".into(),
        items: Vec::new(),
        channel: None,
        status: "COMPLETED",
    }
}

async fn pareto_shares_follow_the_recorded_purchases(db: Db) {
    let c = Customers::new(Store::new(db));
    let rep = user(DataScope::Own);
    let amounts = [5_000, 12_000, 300, 800, 45_000, 700, 2_500, 9_100, 100, 60];
    for (i, amount) in amounts.iter().enumerate() {
        let id = crate::new_customer(&c, &rep, &format!("Buyer {i}"), Kind::Person).await;
        // Two purchases each: the lifetime value is their sum.
        for (n, part) in [amount / 2, amount - amount / 2].into_iter().enumerate() {
            let recorded = c
                .record_transaction(&rep, id, sale(&format!("SO-{i}-{n}"), part))
                .await
                .unwrap();
            assert!(matches!(recorded, Recorded::Stored(..)));
        }
    }
    // Someone else's big customer is outside the rep's curve.
    let other = user(DataScope::Own);
    let id = crate::new_customer(&c, &other, "Whale", Kind::Organization).await;
    c.record_transaction(&other, id, sale("SO-W", 1_000_000))
        .await
        .unwrap();

    let s = summarize(&c, &rep, "").await;
    let total: i64 = amounts.iter().sum();
    assert_eq!((s.total, s.lifetime_value), (10, total));
    assert_curve(&s, &amounts);
    let top = s.pareto_at(20).unwrap();
    assert_eq!(top.customers, 2);
    assert_eq!(top.value, 45_000 + 12_000);
    assert_eq!(top.share, (45_000 + 12_000) as f64 / total as f64);
    assert_eq!(
        s.pareto_at(1).unwrap().value,
        45_000,
        "at least one customer"
    );
    assert_eq!(s.pareto_at(100).unwrap().share, 1.0);
    let by_tier: i64 = s.tiers.iter().map(|t| t.2).sum();
    assert_eq!(by_tier, total, "the tiers share the total");

    // The filter narrows the curve too.
    let small = summarize(&c, &rep, "lifetime_value < 1000").await;
    assert_curve(&small, &[300, 800, 700, 100, 60]);
}

async fn pareto_with_ties_a_zero_total_and_no_customers(db: Db) {
    let store = Store::new(db);
    let c = Customers::new(store.clone());
    let admin = user(|_| DataScope::All);
    let seed = |prefix: &'static str, values: &'static [i64]| {
        let store = store.clone();
        async move {
            for (i, v) in values.iter().enumerate() {
                let mut r = row(&format!("{prefix} {i}"), None, "/g/");
                r.lifetime_value_minor = *v;
                r.region = Some(prefix.into());
                insert(&store, &r).await;
            }
        }
    };
    seed("zero", &[0, 0, 0, 0, 0]).await;
    seed("equal", &[1000, 1000, 1000, 1000, 1000]).await;
    seed("mixed", &[100, 300, 100, 100, 100]).await;

    let zero = summarize(&c, &admin, "region = zero").await;
    assert_curve(&zero, &[0; 5]);
    assert!(zero.pareto.iter().all(|p| p.share == 0.0 && p.value == 0));
    assert_eq!(zero.pareto_at(20).unwrap().customers, 1);

    let equal = summarize(&c, &admin, "region = equal").await;
    assert_curve(&equal, &[1000; 5]);
    assert_eq!(equal.pareto_at(20).unwrap().share, 0.2);
    assert_eq!(equal.pareto_at(50).unwrap().customers, 3, "ceil(2.5)");
    assert_eq!(equal.pareto_at(50).unwrap().share, 0.6);

    let mixed = summarize(&c, &admin, "region = mixed").await;
    assert_curve(&mixed, &[100, 300, 100, 100, 100]);
    assert_eq!(mixed.pareto_at(40).unwrap().value, 400, "a tie at the cut");

    let all = summarize(&c, &admin, "").await;
    let mut values = vec![0; 5];
    values.extend([1000; 5]);
    values.extend([100, 300, 100, 100, 100]);
    assert_curve(&all, &values);

    let none = summarize(&c, &admin, "region = nowhere").await;
    assert_eq!((none.total, none.lifetime_value), (0, 0));
    assert!(none.stages.is_empty() && none.regions.is_empty());
    assert_eq!(none.other_regions, 0);
    assert_eq!(none.weeks.len(), 12);
    assert!(none.weeks.iter().all(|w| w.1 == 0));
    assert!(
        none.pareto
            .iter()
            .all(|p| p.customers == 0 && p.value == 0 && p.share == 0.0)
    );
}

async fn a_bad_filter_or_week_count_names_the_field(db: Db) {
    let c = Customers::new(Store::new(db));
    let admin = user(|_| DataScope::All);
    let field_of = |e: Error| match e {
        Error::InvalidArgument(v) => v.into_iter().map(|v| v.field).collect::<Vec<_>>(),
        other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
    };
    for filter in [
        "secret = 1",
        "kind = ",
        "kind = ROBOT",
        "custom_fields.nope = 1",
    ] {
        let err = c.summarize(&admin, filter, 0).await.unwrap_err();
        let status = tonic::Status::from(err);
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{filter:?}");
        let err = c.summarize(&admin, filter, 0).await.unwrap_err();
        assert_eq!(field_of(err), ["filter"], "{filter:?}");
    }
    let err = c.summarize(&admin, "", -1).await.unwrap_err();
    assert_eq!(field_of(err), ["weeks"]);
}
