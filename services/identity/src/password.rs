//! Passwords: Argon2id hashes (PHC strings with their own salt and parameters) and the policy.
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};

/// Shortest accepted password.
pub const MIN_LEN: usize = 12;
/// Longest accepted password (bounds the hashing work a caller can cause).
pub const MAX_LEN: usize = 128;

/// Checks the policy: 12 to 128 characters, not containing the login name.
pub fn check_policy(password: &str, login_name: &str) -> Result<(), &'static str> {
    let len = password.chars().count();
    if len < MIN_LEN {
        return Err("must be at least 12 characters");
    }
    if len > MAX_LEN {
        return Err("must be at most 128 characters");
    }
    if !login_name.is_empty() && password.to_lowercase().contains(&login_name.to_lowercase()) {
        return Err("must not contain the login name");
    }
    Ok(())
}

/// The Argon2id hash of a password.
pub fn hash(password: &str) -> Result<String, argon2::password_hash::Error> {
    Ok(Argon2::default()
        .hash_password(password.as_bytes())?
        .to_string())
}

/// Whether `password` matches `hash`. A malformed stored hash never matches.
pub fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to verify against when the account does not exist, so that an unknown login name
/// takes as long as a wrong password and cannot be told apart by timing.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash("decoy-password-never-used").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy() {
        assert!(check_policy("short", "li").is_err());
        assert!(check_policy(&"x".repeat(129), "li").is_err());
        assert!(
            check_policy("my-name-is-LiNa-2026", "lina").is_err(),
            "contains the login name, any case"
        );
        assert!(check_policy("correct horse battery", "lina").is_ok());
        assert!(
            check_policy("密码密码密码密码密码密码", "lina").is_ok(),
            "counts characters"
        );
    }

    #[test]
    fn hash_and_verify() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse batterY", &h));
        assert!(!verify("anything", "not a hash"));
        assert_ne!(h, hash("correct horse battery").unwrap(), "salted");
    }
}
