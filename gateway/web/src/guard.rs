//! What stands before every page: security headers, the same-origin check on writes, the
//! session (with token refresh) and the CSRF token.
use crate::{
    Web,
    i18n::{Locale, Tr, time_zone},
    session::{self, Session},
};
use axum::{
    body::Body,
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use crm_platform::auth::Principal;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use std::sync::Arc;

/// The largest form body a page posts (a customer with notes and custom fields fits easily).
const FORM_LIMIT: usize = 1 << 20;
/// Refresh the access token this long before it expires, so a page never fails half way.
const REFRESH_MARGIN_SECONDS: i64 = 30;

/// The content security policy: scripts and styles only from this origin, no inline script,
/// no eval, no framing, forms only to this origin.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

/// Middleware: the standard security headers on every UI response.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        // Pages hold customer data: never kept by shared caches or the back-forward cache.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Middleware: refuses a write that a browser says comes from another site (`Sec-Fetch-Site`,
/// `Origin`). With SameSite=Lax cookies this stops cross-site form posts even before the CSRF
/// token is looked at, including the sign-in form, which has no session yet.
pub async fn same_origin(req: Request, next: Next) -> Response {
    if is_write(req.method()) && !from_same_origin(req.headers()) {
        return (StatusCode::FORBIDDEN, "cross-site request refused").into_response();
    }
    next.run(req).await
}

fn from_same_origin(headers: &HeaderMap) -> bool {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = value("sec-fetch-site")
        && !matches!(site, "same-origin" | "none")
    {
        return false;
    }
    match (value("origin"), value("host")) {
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority == host),
        // An opaque origin (sandboxed frame, data: URL) is never this site.
        (Some(_), None) => false,
        _ => true,
    }
}

/// Who is asking, for the pages: their session, what they may do, their language.
#[derive(Clone)]
pub struct Ctx {
    /// The open session.
    pub session: Session,
    /// The verified caller (permissions decide which menus show; the services decide the rest).
    pub principal: Arc<Principal>,
    /// The user's locale and time zone.
    pub tr: Tr,
    /// The client's address, passed on to the services for their audit trail.
    pub peer: Option<String>,
}

impl Ctx {
    /// Whether the user holds `permission`.
    pub fn can(&self, permission: &str) -> bool {
        self.principal.permissions.contains(permission)
    }
}

/// The locale of a request without a saved preference: the language cookie, then the browser's.
pub fn request_locale(headers: &HeaderMap, preferred: &str) -> Locale {
    Locale::parse(preferred)
        .or_else(|| session::cookie(headers, session::LANG_COOKIE).and_then(Locale::parse))
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Locale::negotiate)
        })
        .unwrap_or(Locale::En)
}

/// A redirect to the sign-in page that htmx follows too (a partial request gets `HX-Redirect`).
pub fn to_login(headers: &HeaderMap, web: &Web) -> Response {
    let mut response = if headers.contains_key("hx-request") {
        let mut r = StatusCode::NO_CONTENT.into_response();
        r.headers_mut()
            .insert("hx-redirect", HeaderValue::from_static("/login"));
        r
    } else {
        Redirect::to("/login").into_response()
    };
    response
        .headers_mut()
        .append(header::SET_COOKIE, web.sealer().clear());
    response
}

/// Middleware of the signed-in pages: opens the session (refreshing the tokens when the access
/// token is about to expire), checks the CSRF token of every write, and hands the pages a
/// [`Ctx`]. Without a valid session the browser goes to the sign-in page.
pub async fn signed_in(State(web): State<Web>, req: Request, next: Next) -> Response {
    let Some(mut session) = web.sealer().open(req.headers()) else {
        return to_login(req.headers(), &web);
    };
    let mut renewed = None;
    if session.expires - REFRESH_MARGIN_SECONDS <= chrono::Utc::now().timestamp() {
        match crate::pages::auth::refresh(&web, &session).await {
            Ok(fresh) => {
                session = fresh;
                renewed = web.sealer().seal(&session).ok();
            }
            Err(_) => return to_login(req.headers(), &web),
        }
    }
    let Some(principal) = web.verify(&session.access).await else {
        return to_login(req.headers(), &web);
    };
    let req = if is_write(req.method()) {
        match check_csrf(req, &session.csrf).await {
            Ok(req) => req,
            Err(response) => return response,
        }
    } else {
        req
    };
    let tr = Tr::new(
        request_locale(req.headers(), &session.locale),
        time_zone(&session.tz),
    );
    let peer = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let ctx = Ctx {
        session,
        principal: Arc::new(principal),
        tr,
        peer,
    };
    let mut req = req;
    req.extensions_mut().insert(ctx);
    let mut response = next.run(req).await;
    if let Some(cookie) = renewed {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// Checks the CSRF token of a write: the `X-CSRF-Token` header (htmx sends it on every
/// request), else the `_csrf` field of a form, else `_csrf` in the query (file uploads).
/// The body is read for the check and handed on unchanged.
async fn check_csrf(req: Request, expected: &str) -> Result<Request, Response> {
    let refused = || (StatusCode::FORBIDDEN, "missing or invalid CSRF token").into_response();
    let header_token = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok());
    if let Some(token) = header_token {
        return if session::same_secret(token, expected) {
            Ok(req)
        } else {
            Err(refused())
        };
    }
    let in_query = req.uri().query().is_some_and(|q| {
        form_urlencoded::parse(q.as_bytes())
            .any(|(k, v)| k == "_csrf" && session::same_secret(&v, expected))
    });
    if in_query {
        return Ok(req);
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(refused());
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, FORM_LIMIT)
        .await
        .map_err(|_| (StatusCode::PAYLOAD_TOO_LARGE, "form too large").into_response())?;
    let ok = form_urlencoded::parse(&bytes)
        .any(|(k, v)| k == "_csrf" && session::same_secret(&v, expected));
    if ok {
        Ok(Request::from_parts(parts, Body::from(bytes)))
    } else {
        Err(refused())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn writes_from_other_sites_are_refused() {
        assert!(from_same_origin(&headers(&[("host", "crm.example.com")])));
        assert!(from_same_origin(&headers(&[
            ("host", "crm.example.com"),
            ("origin", "https://crm.example.com"),
            ("sec-fetch-site", "same-origin"),
        ])));
        assert!(!from_same_origin(&headers(&[
            ("host", "crm.example.com"),
            ("origin", "https://evil.example"),
        ])));
        assert!(!from_same_origin(&headers(&[(
            "sec-fetch-site",
            "cross-site"
        )])));
        assert!(!from_same_origin(&headers(&[
            ("host", "a"),
            ("origin", "null")
        ])));
    }

    #[test]
    fn locale_follows_preference_then_cookie_then_browser() {
        let h = headers(&[("accept-language", "de-DE,zh-CN;q=0.8,en;q=0.5")]);
        assert_eq!(request_locale(&h, ""), Locale::ZhCn);
        assert_eq!(request_locale(&h, "en"), Locale::En);
        let h = headers(&[("accept-language", "zh-CN"), ("cookie", "crm_lang=en")]);
        assert_eq!(request_locale(&h, ""), Locale::En);
        assert_eq!(request_locale(&HeaderMap::new(), ""), Locale::En);
    }
}
