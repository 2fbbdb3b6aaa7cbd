//! `crm.identity.v1.AuthService`.
use super::caller;
use crate::service::{Identity, auth::Tokens};
use crm_proto::crm::identity::v1::{
    GetJwksRequest, IssueClientTokenRequest, Jwk, Jwks, LoginRequest, LogoutRequest,
    RefreshRequest, TokenResponse, auth_service_server::AuthService,
};
use tonic::{Request, Response, Status};

/// The adapter.
#[derive(Clone)]
pub struct Auth(pub Identity);

fn response(t: Tokens) -> TokenResponse {
    TokenResponse {
        access_token: t.access_token,
        token_type: "Bearer".to_owned(),
        expires_in: t.expires_in as i32,
        refresh_token: t.refresh_token,
        refresh_expires_in: t.refresh_expires_in as i32,
        password_change_required: t.password_change_required,
    }
}

/// The JWKS in proto form.
pub fn jwks(identity: &Identity) -> Result<Jwks, Status> {
    let issuer = identity
        .issuer
        .read()
        .map_err(|_| Status::internal("internal error"))?;
    Ok(Jwks {
        keys: issuer
            .jwks()
            .keys
            .into_iter()
            .map(|k| Jwk {
                kty: k.kty,
                crv: k.crv,
                x: k.x,
                kid: k.kid,
                alg: k.alg,
                r#use: k.use_,
            })
            .collect(),
    })
}

#[tonic::async_trait]
impl AuthService for Auth {
    async fn login(&self, req: Request<LoginRequest>) -> Result<Response<TokenResponse>, Status> {
        let caller = caller(&req);
        let r = req.into_inner();
        Ok(Response::new(response(
            self.0.login(&caller, &r.login_name, &r.password).await?,
        )))
    }

    async fn refresh(
        &self,
        req: Request<RefreshRequest>,
    ) -> Result<Response<TokenResponse>, Status> {
        let caller = caller(&req);
        Ok(Response::new(response(
            self.0
                .refresh(&caller, &req.get_ref().refresh_token)
                .await?,
        )))
    }

    async fn logout(
        &self,
        req: Request<LogoutRequest>,
    ) -> Result<Response<pbjson_types::Empty>, Status> {
        let caller = caller(&req);
        let r = req.into_inner();
        self.0
            .logout(&caller, &r.refresh_token, &r.access_token_id)
            .await?;
        Ok(Response::new(pbjson_types::Empty {}))
    }

    async fn issue_client_token(
        &self,
        req: Request<IssueClientTokenRequest>,
    ) -> Result<Response<TokenResponse>, Status> {
        let caller = caller(&req);
        let r = req.into_inner();
        Ok(Response::new(response(
            self.0
                .client_token(&caller, &r.client_id, &r.client_secret)
                .await?,
        )))
    }

    async fn get_jwks(&self, _req: Request<GetJwksRequest>) -> Result<Response<Jwks>, Status> {
        Ok(Response::new(jwks(&self.0)?))
    }
}
