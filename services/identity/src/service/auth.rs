//! Sign-in and tokens: login with lockout, rotating refresh tokens with reuse detection,
//! logout, client credentials for machine callers.
use super::{Caller, Identity};
use crate::{
    error::Error,
    password,
    store::{ClientRow, EventKey, RefreshRow, RoleRow, UserRow},
};
use chrono::{DateTime, Utc};
use crm_platform::{auth::DataScope, token::Grant};
use std::collections::BTreeMap;
use uuid::Uuid;

/// Tokens handed to a caller.
#[derive(Debug, Clone, PartialEq)]
pub struct Tokens {
    /// The access token (JWT).
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: i64,
    /// The refresh token (opaque), empty for machine clients.
    pub refresh_token: String,
    /// Seconds until the refresh token expires.
    pub refresh_expires_in: i64,
    /// The user must change their password before doing anything else.
    pub password_change_required: bool,
}

/// A new opaque secret: 32 random bytes, URL-safe base64.
pub fn random_secret() -> Result<String, Error> {
    use base64::Engine;
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Error::Internal("no randomness".into()))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// SHA-256 of a refresh token, hex: refresh tokens are high-entropy, so a fast hash suffices
/// and lookups stay one indexed equality.
pub fn token_hash(token: &str) -> String {
    ring::digest::digest(&ring::digest::SHA256, token.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What a set of roles grants: union of permissions, widest scope per family.
pub fn grant_of(sub: String, unit: String, roles: &[RoleRow]) -> Result<Grant, Error> {
    let mut perms = std::collections::BTreeSet::new();
    let mut scopes: BTreeMap<String, String> = BTreeMap::new();
    for role in roles {
        let p: Vec<String> = serde_json::from_str(&role.permissions)
            .map_err(|e| Error::Internal(format!("role permissions: {e}")))?;
        perms.extend(p);
        let s: BTreeMap<String, String> = serde_json::from_str(&role.scopes)
            .map_err(|e| Error::Internal(format!("role scopes: {e}")))?;
        for (family, scope) in s {
            let wider = scopes
                .get(&family)
                .is_none_or(|cur| DataScope::rank(&scope) > DataScope::rank(cur));
            if wider {
                scopes.insert(family, scope);
            }
        }
    }
    Ok(Grant {
        sub,
        unit,
        roles: roles.iter().map(|r| format!("roles/{}", r.id)).collect(),
        perms: perms.into_iter().collect(),
        scopes,
    })
}

impl Identity {
    fn sign(&self, grant: &Grant) -> Result<(String, i64), Error> {
        let issuer = self
            .issuer
            .read()
            .map_err(|_| Error::Internal("issuer lock poisoned".into()))?;
        let (token, claims) = issuer
            .issue(grant, Utc::now())
            .map_err(|e| Error::Internal(format!("signing: {e}")))?;
        Ok((token, claims.exp - claims.iat))
    }

    async fn user_grant(&self, user: &UserRow) -> Result<Grant, Error> {
        let unit = self
            .store
            .unit(user.unit_id)
            .await?
            .ok_or_else(|| Error::Internal("user without unit".into()))?;
        let roles = self.store.roles_of(user.id).await?;
        grant_of(format!("users/{}", user.id), unit.path, &roles)
    }

    async fn issue_user_tokens(
        &self,
        user: &UserRow,
        family: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Tokens, Error> {
        let (access_token, expires_in) = self.sign(&self.user_grant(user).await?)?;
        let refresh_token = random_secret()?;
        let expires_at = now + self.settings.refresh_ttl;
        self.store
            .insert_refresh(&RefreshRow {
                id: Uuid::now_v7(),
                family_id: family,
                user_id: user.id,
                token_hash: token_hash(&refresh_token),
                expires_at,
                used_at: None,
                revoked_at: None,
                created_at: now,
            })
            .await?;
        Ok(Tokens {
            access_token,
            expires_in,
            refresh_token,
            refresh_expires_in: (expires_at - now).num_seconds(),
            password_change_required: user.password_change_required,
        })
    }

    /// The answer to credentials of an unknown account: the same work (a hash check against a
    /// decoy) and the same error as a wrong password, so neither timing nor message tells
    /// which accounts exist; the attempt is audited.
    async fn unknown(&self, caller: &Caller, secret: &str, target: &str) -> Error {
        password::verify(secret, password::decoy_hash());
        match self
            .audit(
                caller,
                "LOGIN_FAILED",
                target,
                &[("reason", "unknown account".into())],
            )
            .await
        {
            Ok(()) => Error::BadCredentials,
            Err(e) => e,
        }
    }

    /// Signs a user in. Unknown user and wrong password give the same answer after the same
    /// work; a locked or disabled account is only revealed to someone who knows the password.
    pub async fn login(
        &self,
        caller: &Caller,
        login_name: &str,
        secret: &str,
    ) -> Result<Tokens, Error> {
        let now = crm_platform::db::now();
        let Some(user) = self.store.user_by_login(login_name).await? else {
            return Err(self
                .unknown(caller, secret, &format!("logins/{login_name}"))
                .await);
        };
        let target = format!("users/{}", user.id);
        let locked = user.locked_until.is_some_and(|t| t > now);
        if !password::verify(secret, &user.password_hash) {
            self.audit(
                caller,
                "LOGIN_FAILED",
                &target,
                &[("reason", "wrong password".into())],
            )
            .await?;
            let since = now - self.settings.lockout_window;
            let failures = self
                .store
                .count_events("LOGIN_FAILED", EventKey::Target, &target, since)
                .await?;
            let lock = !locked && failures >= self.settings.lockout_threshold;
            let locked_until = if lock {
                Some(now + self.settings.lockout_duration)
            } else {
                user.locked_until
            };
            self.store
                .set_login_state(user.id, failures as i32, locked_until, None)
                .await?;
            if lock {
                tracing::warn!(user = %user.id, failures, "account locked after failed logins");
                self.audit(
                    caller,
                    "ACCOUNT_LOCKED",
                    &target,
                    &[("failures", failures.to_string())],
                )
                .await?;
            }
            return Err(Error::BadCredentials);
        }
        if locked {
            return Err(Error::AccountLocked);
        }
        if user.status == "DISABLED" {
            return Err(Error::AccountDisabled);
        }
        self.store
            .set_login_state(user.id, 0, None, Some(now))
            .await?;
        let tokens = self.issue_user_tokens(&user, Uuid::now_v7(), now).await?;
        self.audit(caller, "LOGIN_SUCCEEDED", &target, &[]).await?;
        self.audit(caller, "TOKEN_ISSUED", &target, &[]).await?;
        Ok(tokens)
    }

    /// Exchanges a refresh token for new tokens. A refresh token works once; presenting a spent
    /// one means it was stolen (or a client misbehaves), so the whole session is revoked.
    pub async fn refresh(&self, caller: &Caller, refresh_token: &str) -> Result<Tokens, Error> {
        let now = crm_platform::db::now();
        let Some(row) = self
            .store
            .refresh_by_hash(&token_hash(refresh_token))
            .await?
        else {
            return Err(Error::BadCredentials);
        };
        let target = format!("users/{}", row.user_id);
        if row.used_at.is_some() || row.revoked_at.is_some() {
            if row.revoked_at.is_none() || row.used_at.is_some() {
                self.store.revoke_family(row.family_id, now).await?;
                tracing::warn!(user = %row.user_id, "refresh token reused; session revoked");
                self.audit(
                    caller,
                    "REFRESH_TOKEN_REUSED",
                    &target,
                    &[("session", row.family_id.to_string())],
                )
                .await?;
            }
            return Err(Error::BadCredentials);
        }
        if row.expires_at <= now {
            return Err(Error::BadCredentials);
        }
        if !self.store.use_refresh(row.id, now).await? {
            // A concurrent refresh with the same token won the race: that is reuse too.
            self.store.revoke_family(row.family_id, now).await?;
            self.audit(
                caller,
                "REFRESH_TOKEN_REUSED",
                &target,
                &[("session", row.family_id.to_string())],
            )
            .await?;
            return Err(Error::BadCredentials);
        }
        let user = self
            .store
            .user(row.user_id)
            .await?
            .ok_or(Error::BadCredentials)?;
        if user.status == "DISABLED" {
            self.store.revoke_family(row.family_id, now).await?;
            return Err(Error::AccountDisabled);
        }
        let tokens = self.issue_user_tokens(&user, row.family_id, now).await?;
        self.audit(caller, "TOKEN_REFRESHED", &target, &[]).await?;
        Ok(tokens)
    }

    /// Ends a session: its refresh tokens stop working, and the access token `access_token_id`
    /// (when given) is denied until it would have expired.
    pub async fn logout(
        &self,
        caller: &Caller,
        refresh_token: &str,
        access_token_id: &str,
    ) -> Result<(), Error> {
        let now = crm_platform::db::now();
        let Some(row) = self
            .store
            .refresh_by_hash(&token_hash(refresh_token))
            .await?
        else {
            return Err(Error::BadCredentials);
        };
        self.store.revoke_family(row.family_id, now).await?;
        if !access_token_id.is_empty() {
            let until = (now + self.settings.access_ttl).timestamp();
            self.deny
                .revoke(access_token_id, until)
                .await
                .map_err(|e| Error::Internal(format!("deny list: {e}")))?;
        }
        self.audit(
            caller,
            "TOKEN_REVOKED",
            &format!("users/{}", row.user_id),
            &[("session", row.family_id.to_string())],
        )
        .await?;
        Ok(())
    }

    /// Client credentials: an access token for an API client (no refresh token).
    pub async fn client_token(
        &self,
        caller: &Caller,
        client_id: &str,
        secret: &str,
    ) -> Result<Tokens, Error> {
        let now = Utc::now();
        let Some(client) = self.store.client_by_client_id(client_id).await? else {
            return Err(self
                .unknown(caller, secret, &format!("clients/{client_id}"))
                .await);
        };
        let target = format!("apiClients/{}", client.id);
        let current = password::verify(secret, &client.secret_hash);
        let previous = !current
            && client.previous_secret_expires_at.is_some_and(|t| t > now)
            && client
                .previous_secret_hash
                .as_deref()
                .is_some_and(|h| password::verify(secret, h));
        if !current && !previous {
            self.audit(
                caller,
                "LOGIN_FAILED",
                &target,
                &[("reason", "wrong secret".into())],
            )
            .await?;
            return Err(Error::BadCredentials);
        }
        if client.status != "ACTIVE" {
            return Err(Error::AccountDisabled);
        }
        if !source_allowed(&client, &caller.source_ip) {
            self.audit(
                caller,
                "PERMISSION_DENIED",
                &target,
                &[("reason", "source address not allowed".into())],
            )
            .await?;
            return Err(Error::PermissionDenied(
                "this client may not be used from this address".into(),
            ));
        }
        let grant = self.client_grant(&client).await?;
        let (access_token, expires_in) = self.sign(&grant)?;
        self.audit(caller, "TOKEN_ISSUED", &target, &[]).await?;
        Ok(Tokens {
            access_token,
            expires_in,
            refresh_token: String::new(),
            refresh_expires_in: 0,
            password_change_required: false,
        })
    }

    async fn client_grant(&self, client: &ClientRow) -> Result<Grant, Error> {
        let ids: Vec<Uuid> = serde_json::from_str(&client.role_ids)
            .map_err(|e| Error::Internal(format!("client roles: {e}")))?;
        let roles = self.store.roles_by_ids(&ids).await?;
        let unit = match client.unit_id {
            Some(id) => self
                .store
                .unit(id)
                .await?
                .map(|u| u.path)
                .unwrap_or_else(|| "/".to_owned()),
            None => "/".to_owned(),
        };
        grant_of(format!("clients/{}", client.client_id), unit, &roles)
    }
}

/// Whether a client may be used from `source_ip` (no ranges configured: from anywhere).
/// With ranges configured and no known source address, the answer is no.
pub fn source_allowed(client: &ClientRow, source_ip: &str) -> bool {
    let ranges: Vec<String> = serde_json::from_str(&client.allowed_cidrs).unwrap_or_default();
    if ranges.is_empty() {
        return true;
    }
    let Ok(ip) = source_ip.parse::<std::net::IpAddr>() else {
        return false;
    };
    ranges.iter().any(|r| cidr_contains(r, ip))
}

/// Whether `cidr` ("10.0.0.0/8", "2001:db8::/32", or a bare address) contains `ip`.
pub fn cidr_contains(cidr: &str, ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    let (addr, bits) = match cidr.split_once('/') {
        Some((a, b)) => (a, b.parse::<u32>().ok()),
        None => (cidr, None),
    };
    match (addr.parse::<IpAddr>(), ip) {
        (Ok(IpAddr::V4(net)), IpAddr::V4(ip)) => {
            let bits = bits.unwrap_or(32).min(32);
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(net) & mask == u32::from(ip) & mask
        }
        (Ok(IpAddr::V6(net)), IpAddr::V6(ip)) => {
            let bits = bits.unwrap_or(128).min(128);
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(net) & mask == u128::from(ip) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs() {
        let ip = |s: &str| s.parse().unwrap();
        assert!(cidr_contains("10.0.0.0/8", ip("10.2.3.4")));
        assert!(!cidr_contains("10.0.0.0/8", ip("11.2.3.4")));
        assert!(cidr_contains("192.168.1.7", ip("192.168.1.7")));
        assert!(!cidr_contains("192.168.1.7", ip("192.168.1.8")));
        assert!(cidr_contains("0.0.0.0/0", ip("8.8.8.8")));
        assert!(cidr_contains("2001:db8::/32", ip("2001:db8:1::1")));
        assert!(!cidr_contains("2001:db8::/32", ip("10.0.0.1")));
        assert!(!cidr_contains("garbage", ip("10.0.0.1")));
    }

    #[test]
    fn grants_take_the_union_and_the_widest_scope() {
        let role = |perms: &[&str], scopes: &[(&str, &str)]| RoleRow {
            id: Uuid::now_v7(),
            display_name: "r".into(),
            description: String::new(),
            permissions: serde_json::to_string(perms).unwrap(),
            scopes: serde_json::to_string(&scopes.iter().cloned().collect::<BTreeMap<_, _>>())
                .unwrap(),
            built_in: false,
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        let g = grant_of(
            "users/x".into(),
            "/g/".into(),
            &[
                role(&["a.b.read"], &[("customers", "OWN"), ("sales", "ALL")]),
                role(
                    &["a.b.write"],
                    &[("customers", "SUBTREE"), ("sales", "UNIT")],
                ),
            ],
        )
        .unwrap();
        assert_eq!(g.perms, vec!["a.b.read", "a.b.write"]);
        assert_eq!(g.scopes["customers"], "SUBTREE");
        assert_eq!(g.scopes["sales"], "ALL");
    }

    #[test]
    fn secrets_and_hashes() {
        let a = random_secret().unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_secret().unwrap());
        assert_eq!(token_hash("abc").len(), 64);
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
