//! Sign-in over REST: `/api/v1/auth/login`, `/refresh`, `/logout`, `/token` (client
//! credentials), and the JWKS at `/.well-known/jwks.json`. Token responses use the OAuth field
//! names (`access_token`, `refresh_token`, `expires_in`) that HTTP clients expect.
use crate::rest::{Clients, bad_request, request};
use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::HeaderMap,
    response::{IntoResponse, Response},
};
use crm_platform::error::http_response;
use crm_proto::crm::identity::v1::{
    GetJwksRequest, IssueClientTokenRequest, LoginRequest, LogoutRequest, RefreshRequest,
    TokenResponse,
};
use serde::Deserialize;
use serde_json::json;

/// Paths of the gateway served without a token.
pub const PUBLIC: &[&str] = &[
    "/api/openapi.json",
    "/.well-known/jwks.json",
    "/api/v1/auth/*",
    "/crm.identity.v1.AuthService/*",
];

fn tokens(result: Result<tonic::Response<TokenResponse>, tonic::Status>) -> Response {
    match result {
        Ok(r) => {
            let t = r.into_inner();
            let mut body = json!({
                "access_token": t.access_token,
                "token_type": t.token_type,
                "expires_in": t.expires_in,
            });
            if !t.refresh_token.is_empty() {
                body["refresh_token"] = json!(t.refresh_token);
                body["refresh_expires_in"] = json!(t.refresh_expires_in);
            }
            if t.password_change_required {
                body["password_change_required"] = json!(true);
            }
            Json(body).into_response()
        }
        Err(status) => http_response(&status),
    }
}

fn body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Box<Response>> {
    serde_json::from_slice(bytes).map_err(|e| {
        Box::new(bad_request(
            "body",
            format!("is not valid JSON for this request: {e}"),
        ))
    })
}

#[derive(Deserialize)]
struct Login {
    #[serde(alias = "loginName", alias = "username")]
    login_name: String,
    password: String,
}

/// `POST /api/v1/auth/login` `{"login_name", "password"}`.
pub async fn login(State(c): State<Clients>, headers: HeaderMap, bytes: Bytes) -> Response {
    let l: Login = match body(&bytes) {
        Ok(l) => l,
        Err(r) => return *r,
    };
    let req = request(
        &headers,
        LoginRequest {
            login_name: l.login_name,
            password: l.password,
        },
    );
    tokens(c.auth.clone().login(req).await)
}

#[derive(Deserialize)]
struct Refresh {
    #[serde(alias = "refreshToken")]
    refresh_token: String,
    #[serde(default, alias = "accessTokenId")]
    access_token_id: String,
}

/// `POST /api/v1/auth/refresh` `{"refresh_token"}`.
pub async fn refresh(State(c): State<Clients>, headers: HeaderMap, bytes: Bytes) -> Response {
    let r: Refresh = match body(&bytes) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    tokens(
        c.auth
            .clone()
            .refresh(request(
                &headers,
                RefreshRequest {
                    refresh_token: r.refresh_token,
                },
            ))
            .await,
    )
}

/// `POST /api/v1/auth/logout` `{"refresh_token", "access_token_id"?}`.
pub async fn logout(State(c): State<Clients>, headers: HeaderMap, bytes: Bytes) -> Response {
    let r: Refresh = match body(&bytes) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    let req = request(
        &headers,
        LogoutRequest {
            refresh_token: r.refresh_token,
            access_token_id: r.access_token_id,
        },
    );
    match c.auth.clone().logout(req).await {
        Ok(_) => Json(json!({})).into_response(),
        Err(status) => http_response(&status),
    }
}

#[derive(Deserialize)]
struct ClientCredentials {
    client_id: String,
    client_secret: String,
}

/// `POST /api/v1/auth/token` `{"client_id", "client_secret"}` (machine callers).
pub async fn token(State(c): State<Clients>, headers: HeaderMap, bytes: Bytes) -> Response {
    let r: ClientCredentials = match body(&bytes) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    let req = request(
        &headers,
        IssueClientTokenRequest {
            client_id: r.client_id,
            client_secret: r.client_secret,
        },
    );
    tokens(c.auth.clone().issue_client_token(req).await)
}

/// `GET /.well-known/jwks.json`.
pub async fn jwks(State(c): State<Clients>, headers: HeaderMap) -> Response {
    match c
        .auth
        .clone()
        .get_jwks(request(&headers, GetJwksRequest {}))
        .await
    {
        Ok(r) => {
            let keys: Vec<_> = r
                .into_inner()
                .keys
                .into_iter()
                .map(|k| json!({"kty": k.kty, "crv": k.crv, "x": k.x, "kid": k.kid, "alg": k.alg, "use": k.r#use}))
                .collect();
            Json(json!({ "keys": keys })).into_response()
        }
        Err(status) => http_response(&status),
    }
}
