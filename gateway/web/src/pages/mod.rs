//! The pages, one module per area, and what they share: the page chrome (header, menus,
//! language switch) and how a service's refusal becomes a page or a message.
pub mod actions;
pub mod admin;
pub mod auth;
pub mod create;
pub mod customer;
pub mod customers;
pub mod dashboard;
pub mod myday;
pub mod reveal;
pub mod settings;
pub mod transfer;

use crate::{assets, guard::Ctx, i18n::Tr};
use askama::Template;
use axum::response::{Html, IntoResponse, Response};
use http::StatusCode;
use tonic::Code;

/// What every page's layout needs: translations, the CSRF token, who is signed in, which
/// menus to show, the asset URLs.
pub struct Chrome {
    /// Translations and formatting.
    pub tr: Tr,
    /// The session's CSRF token ("" before sign-in).
    pub csrf: String,
    /// The signed-in user's name ("" before sign-in).
    pub user: String,
    /// The menu entry of this page ("myday", "customers", "admin", "settings").
    pub active: &'static str,
    /// Whether the administration menu shows.
    pub admin: bool,
    /// Where the administration menu leads: the first administration page the user may open.
    pub admin_home: &'static str,
    /// Asset URLs.
    pub css: &'static str,
    /// The page script.
    pub app_js: &'static str,
    /// htmx.
    pub htmx_js: &'static str,
}

impl Chrome {
    /// The chrome of a signed-in page.
    pub fn new(ctx: &Ctx, active: &'static str) -> Chrome {
        let admin_home = admin::home(ctx).unwrap_or("");
        Chrome {
            csrf: ctx.session.csrf.clone(),
            user: ctx.session.display.clone(),
            admin: !admin_home.is_empty(),
            admin_home,
            ..Chrome::anonymous(ctx.tr, active)
        }
    }

    /// The chrome of a page shown before sign-in.
    pub fn anonymous(tr: Tr, active: &'static str) -> Chrome {
        Chrome {
            tr,
            csrf: String::new(),
            user: String::new(),
            active,
            admin: false,
            admin_home: "",
            css: assets::url("app.css"),
            app_js: assets::url("app.js"),
            htmx_js: assets::url("htmx.js"),
        }
    }

    /// The `aria-current` value of a menu entry.
    pub fn current(&self, entry: &str) -> &'static str {
        if self.active == entry {
            "page"
        } else {
            "false"
        }
    }
}

/// Renders a template as an HTML response.
pub fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            tracing::error!(%error, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "page failed").into_response()
        }
    }
}

/// A page that only says what went wrong.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// The chrome.
    pub c: Chrome,
    /// The catalog key of the message.
    pub message: &'static str,
}

/// The catalog key of a service refusal shown to a user. Internal details never reach the
/// page: the service already logged them.
pub fn refusal_key(status: &tonic::Status) -> &'static str {
    match status.code() {
        Code::NotFound => "error.not_found",
        Code::PermissionDenied => "error.forbidden",
        Code::Unauthenticated => "error.signed_out",
        Code::Aborted => "error.conflict",
        Code::AlreadyExists => "error.exists",
        Code::InvalidArgument | Code::OutOfRange => "error.invalid",
        Code::FailedPrecondition => "error.precondition",
        Code::ResourceExhausted => "error.busy",
        Code::Unavailable | Code::DeadlineExceeded => "error.unavailable",
        _ => "error.internal",
    }
}

/// The HTTP status matching a service refusal.
pub fn http_status(status: &tonic::Status) -> StatusCode {
    match status.code() {
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::Aborted | Code::AlreadyExists | Code::FailedPrecondition => StatusCode::CONFLICT,
        Code::InvalidArgument | Code::OutOfRange => StatusCode::UNPROCESSABLE_ENTITY,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unavailable | Code::DeadlineExceeded => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A whole page for a refusal (a record outside the user's scope is "not found", as the
/// service says).
pub fn error_page(ctx: &Ctx, status: &tonic::Status) -> Response {
    let page = ErrorPage {
        c: Chrome::new(ctx, ""),
        message: refusal_key(status),
    };
    (http_status(status), render(&page)).into_response()
}

/// The message of the violation naming `field` ("" for none). A violation names the field by
/// its path in the request (`customer.display_name`, `password`): the last segment counts.
pub fn field_error<'a>(violations: &'a [(String, String)], field: &str) -> &'a str {
    violations
        .iter()
        .find(|(path, _)| path == field || path.rsplit('.').next() == Some(field))
        .map(|(_, message)| message.as_str())
        .unwrap_or("")
}

/// The field violations of an INVALID_ARGUMENT refusal: (field path, description).
pub fn violations(status: &tonic::Status) -> Vec<(String, String)> {
    use tonic_types::StatusExt;
    status
        .get_details_bad_request()
        .map(|b| {
            b.field_violations
                .into_iter()
                .map(|v| (v.field, v.description))
                .collect()
        })
        .unwrap_or_default()
}

/// The value of a query or form parameter list.
pub fn param<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}
