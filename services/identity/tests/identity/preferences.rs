//! Each user's own preferences, through the gRPC adapter (name, mask and etag handling, codes
//! and field violations as a caller sees them) on real databases.
use super::{identity, system};
use crm_identity::{
    api::preferences::Preferences,
    service::{Identity, directory::NewUser},
    store::MIGRATIONS,
};
use crm_platform::{
    auth::{Principal, Subject},
    db::Db,
};
use crm_proto::crm::identity::v1::{
    GetUserPreferencesRequest, SavedView, UpdateUserPreferencesRequest, UserPreferences,
    preferences_service_server::PreferencesService,
};
use tonic::{Code, Request, Status};
use tonic_types::StatusExt;
use uuid::Uuid;

crm_platform::backend_tests!(MIGRATIONS;
    defaults_until_the_first_save,
    awkward_values_round_trip_byte_for_byte,
    locale_and_time_zone_are_stored_canonical,
    bad_views_are_refused_naming_the_field,
    a_stale_etag_is_aborted,
    nobody_sees_anyone_elses_preferences,
    masks_change_only_the_fields_they_name,
    deleting_a_user_deletes_their_preferences,
);

async fn new_user(identity: &Identity, login: &str) -> Uuid {
    let root = identity.store.root_unit().await.unwrap().unwrap();
    let user = NewUser {
        login_name: login.into(),
        display_name: login.into(),
        email: None,
        phone: None,
        unit: root.id,
        password: "a long enough password".into(),
        require_password_change: false,
        roles: vec![],
    };
    identity.create_user(&system(), user).await.unwrap().id
}

fn principal(subject: Subject) -> Principal {
    Principal {
        subject,
        unit_path: "/g/".into(),
        roles: Vec::new(),
        permissions: Default::default(),
        scopes: Default::default(),
        token: None,
    }
}

/// The adapter called as `who`, as the authentication layer would have let the call in.
struct As(Preferences, Principal);

impl As {
    fn user(identity: &Identity, id: Uuid) -> As {
        As(Preferences(identity.clone()), principal(Subject::User(id)))
    }

    fn request<T>(&self, message: T) -> Request<T> {
        let mut req = Request::new(message);
        req.extensions_mut().insert(self.1.clone());
        req
    }

    async fn get(&self, name: &str) -> Result<UserPreferences, Status> {
        let req = self.request(GetUserPreferencesRequest { name: name.into() });
        self.0
            .get_user_preferences(req)
            .await
            .map(|r| r.into_inner())
    }

    async fn update(
        &self,
        preferences: UserPreferences,
        mask: &[&str],
    ) -> Result<UserPreferences, Status> {
        let update_mask = (!mask.is_empty()).then(|| pbjson_types::FieldMask {
            paths: mask.iter().map(|p| p.to_string()).collect(),
        });
        let req = self.request(UpdateUserPreferencesRequest {
            preferences: Some(preferences),
            update_mask,
        });
        self.0
            .update_user_preferences(req)
            .await
            .map(|r| r.into_inner())
    }
}

fn me(locale: &str, time_zone: &str, saved_views: Vec<SavedView>) -> UserPreferences {
    UserPreferences {
        name: "users/me/preferences".into(),
        locale: locale.into(),
        time_zone: time_zone.into(),
        saved_views,
        ..Default::default()
    }
}

fn view(id: &str, title: &str) -> SavedView {
    SavedView {
        id: id.into(),
        list: "customers".into(),
        title: title.into(),
        ..Default::default()
    }
}

/// The fields named by the BadRequest details of a refusal.
fn violated(status: &Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

async fn defaults_until_the_first_save(db: Db) {
    let identity = identity(db).await;
    let id = new_user(&identity, "li.na").await;
    let li = As::user(&identity, id);
    let got = li.get("users/me/preferences").await.unwrap();
    assert_eq!(
        got,
        UserPreferences {
            name: format!("users/{id}/preferences"),
            etag: "0".into(),
            ..Default::default()
        },
        "defaults: empty fields, no update time, etag \"0\", named by the real id"
    );
    let by_id = li.get(&format!("users/{id}/preferences")).await.unwrap();
    assert_eq!(by_id, got, "the own id names the same");
    assert!(
        identity.store.preferences(id).await.unwrap().is_none(),
        "reading writes nothing"
    );
}

async fn awkward_values_round_trip_byte_for_byte(db: Db) {
    let identity = identity(db).await;
    let id = new_user(&identity, "wang.fang").await;
    let wang = As::user(&identity, id);
    let views = vec![
        SavedView {
            id: "East_China-2026".into(),
            list: "sales.opportunities".into(),
            title: "  我的客户 — 华东区 🚀 ".into(),
            columns: vec!["display_name".into(), "owner.unit_path".into(), "c2".into()],
            filter: "display_name = \"王 \\\"小\\\" 明\" AND tags : 'vip'   ".into(),
            order_by: "update_time desc".into(),
            page_size: 1000,
            query: "😀 zhāng\u{00a0}wěi ".into(),
        },
        SavedView {
            id: "x".into(),
            list: "customers".into(),
            title: "é".into(),
            columns: vec![],
            filter: "kind = PERSON\n\tOR kind = ORGANIZATION\r\n".into(),
            order_by: String::new(),
            page_size: 0,
            query: String::new(),
        },
    ];
    let saved = wang
        .update(me("zh-CN", "Asia/Shanghai", views.clone()), &[])
        .await
        .unwrap();
    assert_eq!(saved.name, format!("users/{id}/preferences"));
    assert_eq!(saved.saved_views, views, "stored as sent, never trimmed");
    assert_eq!(saved.etag, "1");
    assert!(saved.update_time.is_some());
    let got = wang.get("users/me/preferences").await.unwrap();
    assert_eq!(got, saved, "what goes in comes out");
    let row = identity.store.preferences(id).await.unwrap().unwrap();
    assert_eq!(row.saved_views.0[0].title, "  我的客户 — 华东区 🚀 ");
    assert_eq!(row.saved_views.0[1].filter, views[1].filter);
}

async fn locale_and_time_zone_are_stored_canonical(db: Db) {
    let identity = identity(db).await;
    let id = new_user(&identity, "zhao.lei").await;
    let zhao = As::user(&identity, id);
    let saved = zhao
        .update(me("zh_cn", "asia/SHANGHAI", vec![]), &[])
        .await
        .unwrap();
    assert_eq!(
        (saved.locale.as_str(), saved.time_zone.as_str()),
        ("zh-CN", "Asia/Shanghai")
    );
    let saved = zhao.update(me("EN", "UTC", vec![]), &[]).await.unwrap();
    assert_eq!(
        (saved.locale.as_str(), saved.time_zone.as_str()),
        ("en", "UTC")
    );
    // Clearing a field names it in the mask (without a mask, empty means "not sent").
    let saved = zhao
        .update(me("", "", vec![]), &["locale", "time_zone"])
        .await
        .unwrap();
    assert_eq!(
        (saved.locale.as_str(), saved.time_zone.as_str()),
        ("", ""),
        "empty is back to the defaults"
    );

    let refused = zhao
        .update(me("fr", "Mars/Olympus_Mons", vec![]), &[])
        .await
        .unwrap_err();
    assert_eq!(
        violated(&refused),
        ["preferences.locale", "preferences.time_zone"],
        "every bad field is named"
    );
    for zone in [" Asia/Shanghai", "Asia/Shanghai ", "+08:00", "CST-8x"] {
        let refused = zhao.update(me("", zone, vec![]), &[]).await.unwrap_err();
        assert_eq!(violated(&refused), ["preferences.time_zone"], "{zone:?}");
    }
    for locale in ["zh", "en-US", " en", "zh-TW"] {
        let refused = zhao.update(me(locale, "", vec![]), &[]).await.unwrap_err();
        assert_eq!(violated(&refused), ["preferences.locale"], "{locale:?}");
    }
    let got = zhao.get("users/me/preferences").await.unwrap();
    assert_eq!(got.etag, "3", "refusals write nothing");
}

async fn bad_views_are_refused_naming_the_field(db: Db) {
    let identity = identity(db).await;
    let id = new_user(&identity, "sun.li").await;
    let sun = As::user(&identity, id);
    let refused = |views: Vec<SavedView>| refused_views(&sun, views);
    let dup = vec![view("a", "A"), view("b", "B"), view("a", "A again")];
    assert_eq!(refused(dup).await, ["preferences.saved_views[2].id"]);
    let mut bad = vec![view("ok", "OK"); 1];
    bad.push(SavedView {
        id: "has space".into(),
        list: "Customers".into(),
        title: String::new(),
        columns: vec!["display_name".into(), "DisplayName".into()],
        filter: "a\u{0}b".into(),
        order_by: "x".repeat(201),
        page_size: 1001,
        query: "q".repeat(201),
    });
    assert_eq!(
        refused(bad).await,
        [
            "preferences.saved_views[1].id",
            "preferences.saved_views[1].list",
            "preferences.saved_views[1].title",
            "preferences.saved_views[1].columns[1]",
            "preferences.saved_views[1].filter",
            "preferences.saved_views[1].order_by",
            "preferences.saved_views[1].page_size",
            "preferences.saved_views[1].query",
        ]
    );
    let mut long = view("long", &"标".repeat(101));
    long.page_size = -1;
    long.filter = "f".repeat(2001);
    long.columns = (0..31).map(|i| format!("c{i}")).collect();
    assert_eq!(
        refused(vec![long]).await,
        [
            "preferences.saved_views[0].title",
            "preferences.saved_views[0].columns",
            "preferences.saved_views[0].filter",
            "preferences.saved_views[0].page_size",
        ]
    );
    assert_eq!(
        refused(vec![view("blank", "   ")]).await,
        ["preferences.saved_views[0].title"]
    );
    assert_eq!(
        refused(vec![view("id", "tab\there")]).await,
        ["preferences.saved_views[0].title"]
    );
    let many = (0..51).map(|i| view(&format!("v{i}"), "V")).collect();
    assert_eq!(refused(many).await, ["preferences.saved_views"]);

    // The limits themselves are accepted.
    let mut edge = view(&"a".repeat(64), &"标".repeat(100));
    edge.list = "l".repeat(64);
    edge.columns = (0..30).map(|_| "c".repeat(64)).collect();
    edge.filter = "f".repeat(2000);
    edge.order_by = "o".repeat(200);
    edge.query = "q".repeat(200);
    let mut views: Vec<SavedView> = (1..50).map(|i| view(&format!("v{i}"), "V")).collect();
    views.push(edge);
    let saved = sun.update(me("", "", views.clone()), &[]).await.unwrap();
    assert_eq!(saved.saved_views, views);
}

/// The fields named when `views` are refused.
async fn refused_views(who: &As, views: Vec<SavedView>) -> Vec<String> {
    let status = who.update(me("", "", views), &[]).await.unwrap_err();
    violated(&status)
}

async fn a_stale_etag_is_aborted(db: Db) {
    let identity = identity(db).await;
    let id = new_user(&identity, "qian.bo").await;
    let qian = As::user(&identity, id);
    let with_etag = |etag: &str, locale: &str| UserPreferences {
        etag: etag.into(),
        ..me(locale, "", vec![])
    };
    let stale = qian.update(with_etag("3", "en"), &[]).await.unwrap_err();
    assert_eq!(
        stale.code(),
        Code::Aborted,
        "no save yet: only \"0\" is current"
    );
    let first = qian.update(with_etag("0", "en"), &[]).await.unwrap();
    assert_eq!(first.etag, "1");
    let stale = qian.update(with_etag("0", "zh-CN"), &[]).await.unwrap_err();
    assert_eq!(stale.code(), Code::Aborted, "{stale:?}");
    let second = qian.update(with_etag("1", "zh-CN"), &[]).await.unwrap();
    assert_eq!(
        (second.etag.as_str(), second.locale.as_str()),
        ("2", "zh-CN")
    );
    let blind = qian.update(me("en", "", vec![]), &[]).await.unwrap();
    assert_eq!(blind.etag, "3", "without an etag the last write wins");
    let bad = qian.update(with_etag("v1", "en"), &[]).await.unwrap_err();
    assert_eq!(violated(&bad), ["preferences.etag"]);
}

async fn nobody_sees_anyone_elses_preferences(db: Db) {
    let identity = identity(db).await;
    let a = new_user(&identity, "zhou.ai").await;
    let b = new_user(&identity, "wu.bin").await;
    let alice = As::user(&identity, a);
    let bob = As::user(&identity, b);
    alice
        .update(me("zh-CN", "", vec![view("mine", "Mine")]), &[])
        .await
        .unwrap();
    let name = format!("users/{a}/preferences");
    let nobody = format!("users/{}/preferences", Uuid::now_v7());
    for target in [&name, &nobody] {
        let got = bob.get(target).await.unwrap_err();
        assert_eq!(got.code(), Code::NotFound, "{target}: {got:?}");
        let theirs = UserPreferences {
            name: target.clone(),
            ..me("en", "", vec![])
        };
        let changed = bob.update(theirs, &[]).await.unwrap_err();
        assert_eq!(changed.code(), Code::NotFound, "{target}: {changed:?}");
    }
    assert_eq!(
        alice.get("users/me/preferences").await.unwrap().locale,
        "zh-CN",
        "untouched by the refused update"
    );
    // An administrator is no exception.
    let mut admin = principal(Subject::User(b));
    admin.permissions = [crm_platform::permissions::IDENTITY_USER_READ.to_owned()].into();
    let admin = As(Preferences(identity.clone()), admin);
    assert_eq!(admin.get(&name).await.unwrap_err().code(), Code::NotFound);

    // API clients have no preferences; bad names are refused naming the field.
    let erp = As(
        Preferences(identity.clone()),
        principal(Subject::Client("erp".into())),
    );
    let refused = erp.get("users/me/preferences").await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    let refused = erp.update(me("en", "", vec![]), &[]).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    for bad in [
        "users/me",
        "users/not-a-uuid/preferences",
        "me/preferences",
        "",
    ] {
        assert_eq!(violated(&alice.get(bad).await.unwrap_err()), ["name"]);
        let named = UserPreferences {
            name: bad.into(),
            ..Default::default()
        };
        let refused = alice.update(named, &[]).await.unwrap_err();
        assert_eq!(violated(&refused), ["preferences.name"]);
    }
}

async fn masks_change_only_the_fields_they_name(db: Db) {
    let identity = identity(db).await;
    let id = new_user(&identity, "zheng.hao").await;
    let zheng = As::user(&identity, id);
    let views = vec![view("a", "A"), view("b", "B")];
    zheng
        .update(me("en", "Europe/Berlin", views.clone()), &[])
        .await
        .unwrap();
    let locale_only = zheng
        .update(me("zh-CN", "", vec![]), &["locale"])
        .await
        .unwrap();
    assert_eq!(locale_only.locale, "zh-CN");
    assert_eq!(locale_only.time_zone, "Europe/Berlin", "not in the mask");
    assert_eq!(locale_only.saved_views, views, "not in the mask");
    // Scalar fields outside the mask are not checked; a malformed saved view is refused even
    // outside it (the request is wrong), and nothing changes.
    let refused = zheng
        .update(
            me("klingon", "Asia/Tokyo", vec![view("a", "")]),
            &["time_zone"],
        )
        .await
        .unwrap_err();
    assert_eq!(violated(&refused), ["preferences.saved_views[0].title"]);
    let zone = zheng
        .update(
            me("klingon", "Asia/Tokyo", vec![view("a", "A")]),
            &["time_zone"],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            zone.locale.as_str(),
            zone.time_zone.as_str(),
            zone.saved_views.len()
        ),
        ("zh-CN", "Asia/Tokyo", 2)
    );
    let cleared = zheng
        .update(me("", "", vec![]), &["saved_views"])
        .await
        .unwrap();
    assert!(cleared.saved_views.is_empty());
    assert_eq!(cleared.locale, "zh-CN");
    let star = zheng
        .update(me("en", "", vec![view("c", "C")]), &["*"])
        .await
        .unwrap();
    assert_eq!(
        (
            star.locale.as_str(),
            star.time_zone.as_str(),
            star.saved_views.len()
        ),
        ("en", "", 1)
    );
    // No mask: only what the request sets changes, so an empty request wipes nothing (AIP-134).
    let nothing = zheng.update(me("", "", vec![]), &[]).await.unwrap();
    assert_eq!(
        (nothing.locale.as_str(), nothing.saved_views.len()),
        ("en", 1)
    );
    let zone_only = zheng
        .update(me("", "Asia/Tokyo", vec![]), &[])
        .await
        .unwrap();
    assert_eq!(
        (
            zone_only.locale.as_str(),
            zone_only.time_zone.as_str(),
            zone_only.saved_views.len()
        ),
        ("en", "Asia/Tokyo", 1)
    );
    let star = zheng
        .update(me("en", "", vec![view("c", "C")]), &["*"])
        .await
        .unwrap();
    for bad in ["colour", "timeZone", "etag", "name", "saved_views.title"] {
        let refused = zheng
            .update(me("en", "", vec![]), &["locale", bad])
            .await
            .unwrap_err();
        assert_eq!(violated(&refused), ["update_mask"], "{bad}");
    }
    assert_eq!(zheng.get("users/me/preferences").await.unwrap(), star);
}

async fn deleting_a_user_deletes_their_preferences(db: Db) {
    let identity = identity(db).await;
    let id = new_user(&identity, "feng.yu").await;
    let feng = As::user(&identity, id);
    feng.update(me("en", "", vec![view("v", "V")]), &[])
        .await
        .unwrap();
    identity.delete_user(&system(), id, None).await.unwrap();
    assert!(
        identity.store.preferences(id).await.unwrap().is_none(),
        "the row goes with the user"
    );
    // A token that outlives its user finds nothing and can save nothing.
    let gone = feng.get("users/me/preferences").await.unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    let gone = feng.update(me("en", "", vec![]), &[]).await.unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
}
