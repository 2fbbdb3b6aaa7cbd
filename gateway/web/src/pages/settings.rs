//! Personal settings: language, time zone, password.
use super::{Chrome, param, render};
use crate::{Web, call, guard::Ctx, i18n::Locale};
use askama::Template;
use axum::{
    Extension, Form,
    extract::{Query, State},
    response::{IntoResponse, Response},
};
use crm_proto::crm::identity::v1::{
    ChangePasswordRequest, UpdateUserPreferencesRequest, UserPreferences,
    directory_service_client::DirectoryServiceClient,
    preferences_service_client::PreferencesServiceClient,
};
use http::{StatusCode, header};

/// Time zones offered first; any other IANA name can be typed.
const ZONES: &[&str] = &[
    "UTC",
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Asia/Kolkata",
    "Asia/Dubai",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/Moscow",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Australia/Sydney",
    "Pacific/Auckland",
];

/// The settings page.
#[derive(Template)]
#[template(path = "settings.html")]
pub struct SettingsPage {
    /// The chrome.
    pub c: Chrome,
    /// The saved locale tag ("" = browser).
    pub locale: String,
    /// The saved zone.
    pub tz: String,
    /// Zones offered.
    pub zones: &'static [&'static str],
    /// Catalog key of a message to show ("" none).
    pub notice: &'static str,
    /// Whether the notice is an error.
    pub failed: bool,
    /// Whether the user must change their password now.
    pub must_change: bool,
}

fn view(ctx: &Ctx, notice: &'static str, failed: bool, must_change: bool) -> SettingsPage {
    SettingsPage {
        c: Chrome::new(ctx, "settings"),
        locale: ctx.session.locale.clone(),
        tz: ctx.session.tz.clone(),
        zones: ZONES,
        notice,
        failed,
        must_change,
    }
}

/// GET /settings
pub async fn page(
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    render(&view(&ctx, "", false, param(&q, "must_change") == "1"))
}

/// POST /settings: saves language and time zone to the user's preferences.
pub async fn save(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let locale = param(&form, "locale");
    let locale = Locale::parse(locale)
        .map(|l| l.tag().to_owned())
        .unwrap_or_default();
    let tz = param(&form, "time_zone").to_owned();
    let mut client = PreferencesServiceClient::new(web.upstreams().identity.clone());
    let request = UpdateUserPreferencesRequest {
        preferences: Some(UserPreferences {
            name: "users/me/preferences".into(),
            locale,
            time_zone: tz,
            ..Default::default()
        }),
        update_mask: Some(pbjson_types::FieldMask {
            paths: vec!["locale".into(), "time_zone".into()],
        }),
    };
    match client.update_user_preferences(call(&ctx, request)).await {
        Ok(saved) => {
            let saved = saved.into_inner();
            let mut session = ctx.session.clone();
            session.locale = saved.locale;
            session.tz = saved.time_zone;
            let mut ctx = ctx.clone();
            ctx.tr = crate::i18n::Tr::new(
                crate::guard::request_locale(&http::HeaderMap::new(), &session.locale),
                crate::i18n::time_zone(&session.tz),
            );
            ctx.session = session.clone();
            let body = render(&view(&ctx, "settings.saved", false, false));
            match web.sealer().seal(&session) {
                Ok(cookie) => ([(header::SET_COOKIE, cookie)], body).into_response(),
                Err(_) => body,
            }
        }
        Err(status) => {
            let key = if super::violations(&status)
                .iter()
                .any(|(f, _)| f.contains("time_zone"))
            {
                "settings.bad_zone"
            } else {
                super::refusal_key(&status)
            };
            (
                super::http_status(&status),
                render(&view(&ctx, key, true, false)),
            )
                .into_response()
        }
    }
}

/// POST /settings/password: changes the user's own password (the old one is required).
pub async fn password(
    State(web): State<Web>,
    Extension(ctx): Extension<Ctx>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let (new, repeat) = (
        param(&form, "new_password"),
        param(&form, "repeat_password"),
    );
    if new != repeat {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            render(&view(&ctx, "settings.mismatch", true, false)),
        )
            .into_response();
    }
    let mut client = DirectoryServiceClient::new(web.upstreams().identity.clone());
    let request = ChangePasswordRequest {
        name: format!("users/{}", ctx.session.user),
        old_password: param(&form, "old_password").to_owned(),
        new_password: new.to_owned(),
        request_id: String::new(),
    };
    match client.change_password(call(&ctx, request)).await {
        Ok(_) => render(&view(&ctx, "settings.password_changed", false, false)),
        Err(status) => {
            let key = match status.code() {
                tonic::Code::InvalidArgument
                    if super::violations(&status)
                        .iter()
                        .any(|(f, _)| f == "old_password") =>
                {
                    "settings.wrong_password"
                }
                tonic::Code::InvalidArgument => "settings.weak_password",
                tonic::Code::Unauthenticated | tonic::Code::PermissionDenied => {
                    "settings.wrong_password"
                }
                _ => super::refusal_key(&status),
            };
            (
                super::http_status(&status),
                render(&view(&ctx, key, true, false)),
            )
                .into_response()
        }
    }
}
