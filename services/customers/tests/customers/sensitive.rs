//! Sensitive fields: encrypted at rest, masked unless permitted, unmasked reads audited, found
//! by blind index, re-encrypted by key rotation.
use crm_customers::{
    domain::{DisplayName, Kind},
    sensitive::Writes,
    service::{Changes, Created, Customers, ListParams, NewCustomer},
    store::{MIGRATIONS, Store},
};
use crm_platform::{
    auth::{DataScope, Principal, Subject},
    crypto::{CryptoConfig, Keyring},
    db::Db,
    permissions::CUSTOMERS_SENSITIVE_READ,
    with_pool,
};
use uuid::Uuid;

crm_platform::backend_tests!(MIGRATIONS;
    values_are_masked_unless_permitted_and_unmasked_reads_are_audited,
    values_are_found_by_blind_index_and_cleared,
    rotation_re_encrypts_every_value_under_the_current_key,
);

const ID: &str = "11010519491231002X";
const ACCOUNT: &str = "6222020200112233445";

fn rep(permitted: bool) -> Principal {
    let mut p = Principal {
        subject: Subject::User(Uuid::now_v7()),
        unit_path: "/g/east/".into(),
        scopes: [("customers".to_owned(), DataScope::Unit("/g/east/".into()))].into(),
        permissions: Default::default(),
        ..Principal::system()
    };
    if permitted {
        p.permissions.insert(CUSTOMERS_SENSITIVE_READ.to_owned());
    }
    p
}

async fn create_with_secrets(c: &Customers, p: &Principal, name: &str) -> Uuid {
    let new = NewCustomer {
        display_name: DisplayName::parse(name).unwrap(),
        kind: Kind::Person,
        email: None,
        phone: None,
        owner_id: None,
        custom_fields: Default::default(),
        secrets: Writes(vec![
            ("national_id", Some(ID.to_owned())),
            ("bank_account", Some(ACCOUNT.to_owned())),
        ]),
        profile: Default::default(),
    };
    match c.create(p, new, None, |_| Vec::new()).await.unwrap() {
        Created::New(row) => row.id,
        Created::Replayed(_) => panic!("no replay"),
    }
}

async fn stored(db: &Db) -> Vec<(String, String)> {
    with_pool!(db, |pool| sqlx::query_as(
        "SELECT ciphertext, blind_index FROM customer_secrets ORDER BY field"
    )
    .fetch_all(pool)
    .await
    .unwrap())
}

async fn values_are_masked_unless_permitted_and_unmasked_reads_are_audited(db: Db) {
    let c = Customers::new(Store::new(db.clone()));
    let (plain, privileged) = (rep(false), rep(true));
    let id = create_with_secrets(&c, &plain, "Secretive").await;

    for (ciphertext, index) in stored(&db).await {
        assert!(
            ciphertext.starts_with("d1."),
            "sealed with the customer's key: {ciphertext}"
        );
        assert!(!ciphertext.contains(ID) && !ciphertext.contains(ACCOUNT));
        assert!(!index.contains(ID) && !index.contains(ACCOUNT));
    }
    let masked = c.sensitive_values(&plain, &[id]).await.unwrap();
    assert_eq!(masked[&id].get("national_id"), Some("************002X"));
    assert_eq!(masked[&id].get("bank_account"), Some("************3445"));
    let clear = c.sensitive_values(&privileged, &[id]).await.unwrap();
    assert_eq!(clear[&id].get("national_id"), Some(ID));
    assert_eq!(clear[&id].get("bank_account"), Some(ACCOUNT));

    let (trail, _) = c.history(&plain, id, &ListParams::default()).await.unwrap();
    // Newest first: the one unmasked read, then the creation with masked values.
    assert_eq!(trail.len(), 2, "{trail:?}");
    assert_eq!(trail[0].action, "SENSITIVE_READ");
    assert_eq!(trail[0].actor, privileged.actor());
    let read: Vec<_> = trail[0]
        .change_list()
        .into_iter()
        .map(|c| c.field)
        .collect();
    assert_eq!(read.len(), 2);
    assert!(read.contains(&"national_id".to_owned()) && read.contains(&"bank_account".to_owned()));
    let created = trail[1].change_list();
    let id_change = created.iter().find(|c| c.field == "national_id").unwrap();
    assert_eq!(id_change.after, "************002X");
    assert!(!trail[1].changes.contains(ID) && !trail[1].changes.contains(ACCOUNT));
}

async fn values_are_found_by_blind_index_and_cleared(db: Db) {
    let c = Customers::new(Store::new(db.clone()));
    let me = rep(false);
    let id = create_with_secrets(&c, &me, "Findable").await;
    let other = crate::new_customer(&c, &me, "Other", Kind::Person).await;
    let vault = c.vault();
    // Any spelling that normalizes to the same value finds it; a near miss does not.
    assert_eq!(
        vault.find(&db, None, "110105-19491231-002x").await.unwrap(),
        vec![id]
    );
    assert_eq!(
        vault
            .find(&db, Some("bank_account"), "6222 0202 0011 2233 445")
            .await
            .unwrap(),
        vec![id]
    );
    assert!(
        vault
            .find(&db, Some("bank_account"), ID)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        vault
            .find(&db, None, "11010519491231002")
            .await
            .unwrap()
            .is_empty()
    );

    // Clearing one field removes it; the other stays.
    let clear = Changes {
        custom_fields: Default::default(),
        secrets: Writes(vec![("national_id", None)]),
        ..Changes::default()
    };
    c.update(&me, id, None, clear).await.unwrap();
    assert!(vault.find(&db, None, ID).await.unwrap().is_empty());
    let left = c.masked_values(&[id, other]).await.unwrap();
    assert_eq!(left[&id].get("national_id"), None);
    assert_eq!(left[&id].get("bank_account"), Some("************3445"));
    assert!(!left.contains_key(&other));
}

async fn rotation_re_encrypts_every_value_under_the_current_key(db: Db) {
    let (old, mut config): (Keyring, CryptoConfig) = Keyring::generate().unwrap();
    let c = Customers::new(Store::new(db.clone())).with_keyring(old);
    let me = rep(true);
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(create_with_secrets(&c, &me, &format!("Rotated {i}")).await);
    }
    let (_, fresh) = Keyring::generate().unwrap();
    config.keys.insert("k2".into(), fresh.keys["k1"].clone());
    config.current = "k2".into();
    let both = Keyring::from_config(&config).unwrap();
    let c = Customers::new(Store::new(db.clone())).with_keyring(both);
    // Values are sealed with each customer's data key: rotation re-wraps the 7 keys only.
    assert_eq!(c.vault().stale(&db).await.unwrap(), 7);
    // Batches of 3 rows: several rounds, each its own transaction.
    assert_eq!(c.vault().rotate(&db, 3).await.unwrap(), 7);
    assert_eq!(c.vault().stale(&db).await.unwrap(), 0);
    assert_eq!(c.vault().rotate(&db, 3).await.unwrap(), 0, "nothing left");
    let wrapped: Vec<(String,)> = with_pool!(&db, |pool| sqlx::query_as(
        "SELECT wrapped FROM customer_keys"
    )
    .fetch_all(pool)
    .await
    .unwrap());
    assert_eq!(wrapped.len(), 7);
    assert!(
        wrapped.iter().all(|(w,)| w.starts_with("v1.k2.")),
        "{wrapped:?}"
    );
    for (ciphertext, _) in stored(&db).await {
        assert!(ciphertext.starts_with("d1."), "{ciphertext}");
    }
    // The old key can go: every value still reads, and the blind index still finds them.
    config.keys.remove("k1");
    let c =
        Customers::new(Store::new(db.clone())).with_keyring(Keyring::from_config(&config).unwrap());
    let clear = c.sensitive_values(&me, &ids).await.unwrap();
    assert_eq!(clear.len(), 7);
    assert!(clear.values().all(|v| v.get("national_id") == Some(ID)));
    assert_eq!(c.vault().find(&db, None, ID).await.unwrap().len(), 7);
    // The copy in the customer's row (what GetCustomer reads) was re-encrypted too.
    let (_, shown) = c.get_showing_sensitive(&me, ids[0]).await.unwrap();
    assert_eq!(shown.get("bank_account"), Some(ACCOUNT));
    // A value moved to another customer does not decrypt (the customer is bound in).
    with_pool!(&db, |pool| {
        sqlx::query(
        "UPDATE customer_secrets SET ciphertext = (SELECT ciphertext FROM customer_secrets WHERE customer_id = $1 AND field = 'national_id') WHERE customer_id = $2 AND field = 'national_id'"
    )
    .bind(ids[0])
    .bind(ids[1])
    .execute(pool)
    .await
    .map(drop)
    .unwrap()
    });
    assert!(c.sensitive_values(&me, &[ids[1]]).await.is_err());
    // A value from before data keys (sealed with the keyring itself) still reads, and the
    // next rotation seals it with its customer's key.
    let legacy = c
        .vault()
        .keyring()
        .encrypt(&format!("national_id:{}", ids[2]), ID)
        .unwrap();
    with_pool!(&db, |pool| {
        sqlx::query(
        "UPDATE customer_secrets SET ciphertext = $1 WHERE customer_id = $2 AND field = 'national_id'"
    )
    .bind(&legacy)
    .bind(ids[2])
    .execute(pool)
    .await
    .map(drop)
    .unwrap()
    });
    let read = c.vault().read(&db, &[ids[2]]).await.unwrap();
    assert_eq!(read[&ids[2]].get("national_id"), Some(ID));
    assert_eq!(c.vault().stale(&db).await.unwrap(), 1);
    assert_eq!(c.vault().rotate(&db, 3).await.unwrap(), 1);
    assert_eq!(c.vault().stale(&db).await.unwrap(), 0);
    let read = c.vault().read(&db, &[ids[2]]).await.unwrap();
    assert_eq!(read[&ids[2]].get("national_id"), Some(ID));
}
