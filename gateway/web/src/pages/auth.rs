//! Sign in, sign out, token refresh and the language switch.
use super::{Chrome, render};
use crate::{
    Web, bearer,
    guard::{self, Ctx},
    i18n::{Locale, Tr},
    session::{self, Session},
};
use askama::Template;
use axum::{
    Extension, Form,
    extract::State,
    response::{IntoResponse, Redirect, Response},
};
use crm_proto::crm::identity::v1::{
    GetUserPreferencesRequest, GetUserRequest, LoginRequest, LogoutRequest, RefreshRequest,
    TokenResponse, UpdateUserPreferencesRequest, UserPreferences,
    auth_service_client::AuthServiceClient, directory_service_client::DirectoryServiceClient,
    preferences_service_client::PreferencesServiceClient,
};
use http::{HeaderMap, StatusCode, header};
use serde::Deserialize;

/// The sign-in page.
#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    /// The chrome.
    pub c: Chrome,
    /// The login name typed (kept after a failure).
    pub login_name: String,
    /// The catalog key of the error, "" for none.
    pub error: &'static str,
}

fn anonymous_tr(headers: &HeaderMap) -> Tr {
    Tr::new(guard::request_locale(headers, ""), chrono_tz::Tz::UTC)
}

/// GET /login
pub async fn login_form(headers: HeaderMap) -> Response {
    render(&LoginPage {
        c: Chrome::anonymous(anonymous_tr(&headers), "login"),
        login_name: String::new(),
        error: "",
    })
}

/// The sign-in form.
#[derive(Deserialize)]
pub struct LoginForm {
    login_name: String,
    password: String,
}

/// POST /login: signs in with the identity service and stores the tokens in the sealed cookie.
pub async fn login(
    State(web): State<Web>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let mut client = AuthServiceClient::new(web.upstreams().identity.clone());
    let request = LoginRequest {
        login_name: form.login_name.clone(),
        password: form.password,
    };
    let failed = |error: &'static str, code: StatusCode| {
        let page = LoginPage {
            c: Chrome::anonymous(anonymous_tr(&headers), "login"),
            login_name: form.login_name.clone(),
            error,
        };
        (code, render(&page)).into_response()
    };
    let tokens = match client.login(request).await {
        Ok(r) => r.into_inner(),
        Err(status) if status.code() == tonic::Code::Unauthenticated => {
            return failed("login.failed", StatusCode::UNAUTHORIZED);
        }
        Err(status) if status.code() == tonic::Code::InvalidArgument => {
            return failed("login.failed", StatusCode::UNPROCESSABLE_ENTITY);
        }
        Err(status) => return failed(super::refusal_key(&status), super::http_status(&status)),
    };
    let session = match new_session(&web, &tokens).await {
        Ok(s) => s,
        Err(error) => {
            tracing::error!(%error, "cannot open a session");
            return failed("error.internal", StatusCode::INTERNAL_SERVER_ERROR);
        }
    };
    let target = if tokens.password_change_required {
        "/settings?must_change=1"
    } else {
        "/"
    };
    match web.sealer().seal(&session) {
        Ok(cookie) => ([(header::SET_COOKIE, cookie)], Redirect::to(target)).into_response(),
        Err(error) => {
            tracing::error!(%error, "cannot seal a session");
            failed("error.internal", StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

/// A session for freshly issued tokens: who the user is and their saved language and zone.
async fn new_session(web: &Web, tokens: &TokenResponse) -> anyhow::Result<Session> {
    let principal = web.verify(&tokens.access_token).await.ok_or_else(|| {
        anyhow::anyhow!("the identity service issued a token that does not verify")
    })?;
    let user = match principal.subject {
        crm_platform::auth::Subject::User(id) => id.to_string(),
        _ => anyhow::bail!("not a user token"),
    };
    let mut directory = DirectoryServiceClient::new(web.upstreams().identity.clone());
    let display = directory
        .get_user(bearer(
            &tokens.access_token,
            GetUserRequest {
                name: format!("users/{user}"),
            },
        ))
        .await
        .map(|u| u.into_inner())
        .map(|u| {
            if u.display_name.is_empty() {
                u.login_name
            } else {
                u.display_name
            }
        })
        .unwrap_or_default();
    // Preferences are a convenience: without them the UI follows the browser.
    let mut preferences = PreferencesServiceClient::new(web.upstreams().identity.clone());
    let saved = preferences
        .get_user_preferences(bearer(
            &tokens.access_token,
            GetUserPreferencesRequest {
                name: "users/me/preferences".into(),
            },
        ))
        .await
        .map(|p| p.into_inner())
        .unwrap_or_default();
    Ok(Session {
        access: tokens.access_token.clone(),
        refresh: tokens.refresh_token.clone(),
        expires: chrono::Utc::now().timestamp() + i64::from(tokens.expires_in),
        csrf: session::random_token()?,
        user,
        display,
        locale: saved.locale,
        tz: saved.time_zone,
    })
}

/// New tokens for a session whose access token is about to expire (the refresh token rotates).
pub async fn refresh(web: &Web, old: &Session) -> Result<Session, tonic::Status> {
    let mut client = AuthServiceClient::new(web.upstreams().identity.clone());
    let tokens = client
        .refresh(RefreshRequest {
            refresh_token: old.refresh.clone(),
        })
        .await?
        .into_inner();
    Ok(Session {
        access: tokens.access_token,
        refresh: tokens.refresh_token,
        expires: chrono::Utc::now().timestamp() + i64::from(tokens.expires_in),
        ..old.clone()
    })
}

/// POST /logout: revokes the tokens at the identity service, then forgets the cookie.
pub async fn logout(State(web): State<Web>, Extension(ctx): Extension<Ctx>) -> Response {
    let mut client = AuthServiceClient::new(web.upstreams().identity.clone());
    let access_token_id = ctx
        .principal
        .token
        .as_ref()
        .map(|(id, _)| id.clone())
        .unwrap_or_default();
    let request = crate::call(
        &ctx,
        LogoutRequest {
            refresh_token: ctx.session.refresh.clone(),
            access_token_id,
        },
    );
    if let Err(status) = client.logout(request).await {
        // The cookie goes anyway; the tokens expire on their own.
        tracing::warn!(code = ?status.code(), "logout not confirmed by identity");
    }
    (
        [(header::SET_COOKIE, web.sealer().clear())],
        Redirect::to("/login"),
    )
        .into_response()
}

/// The language switch.
#[derive(Deserialize)]
pub struct LanguageForm {
    locale: String,
    #[serde(default)]
    back: String,
}

/// POST /lang: switches the language. Before sign-in it is remembered in a cookie; signed in,
/// it is saved to the user's preferences too, so it follows them to other devices.
pub async fn language(
    State(web): State<Web>,
    headers: HeaderMap,
    Form(form): Form<LanguageForm>,
) -> Response {
    let Some(locale) = Locale::parse(&form.locale) else {
        return (StatusCode::UNPROCESSABLE_ENTITY, "unsupported locale").into_response();
    };
    // Only paths of this site: never an open redirect.
    let back = if form.back.starts_with('/') && !form.back.starts_with("//") {
        form.back.as_str()
    } else {
        "/"
    };
    let mut response = Redirect::to(back).into_response();
    if let Ok(cookie) =
        web.sealer()
            .set_cookie(session::LANG_COOKIE, locale.tag(), Some(365 * 24 * 3600))
    {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    if let Some(mut session) = web.sealer().open(&headers)
        && save_locale(&web, &session, locale).await
    {
        session.locale = locale.tag().to_owned();
        if let Ok(cookie) = web.sealer().seal(&session) {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
    }
    response
}

async fn save_locale(web: &Web, session: &Session, locale: Locale) -> bool {
    let mut client = PreferencesServiceClient::new(web.upstreams().identity.clone());
    let request = UpdateUserPreferencesRequest {
        preferences: Some(UserPreferences {
            name: "users/me/preferences".into(),
            locale: locale.tag().into(),
            ..Default::default()
        }),
        update_mask: Some(pbjson_types::FieldMask {
            paths: vec!["locale".into()],
        }),
    };
    client
        .update_user_preferences(bearer(&session.access, request))
        .await
        .is_ok()
}
