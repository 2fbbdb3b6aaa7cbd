//! Configuration: defaults → optional TOML file named by `CRM_CONFIG` → environment (`CRM_...`).
//!
//! Nested keys use a double underscore in the environment: `CRM_CUSTOMERS__DATABASE_URL` sets
//! `customers.database_url`. Secrets are wrapped in [`Secret`] so that no `Debug` or log line
//! ever shows them.
use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use std::fmt;

/// Loads `T` from its defaults, the file named by `CRM_CONFIG` (if set) and `CRM_*` variables.
pub fn load<T: Serialize + DeserializeOwned + Default>() -> anyhow::Result<T> {
    let mut figment = Figment::from(Serialized::defaults(T::default()));
    if let Ok(path) = std::env::var("CRM_CONFIG") {
        if !std::path::Path::new(&path).exists() {
            anyhow::bail!("config file {path} (from CRM_CONFIG) does not exist");
        }
        figment = figment.merge(Toml::file(path));
    }
    // `CRM_CONFIG` itself is not a setting.
    figment = figment.merge(Env::prefixed("CRM_").ignore(&["config"]).split("__"));
    figment
        .extract()
        .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))
}

/// A secret value (database URL with a password, signing key, API secret). Its `Debug` and
/// `Display` never show the value; call [`Secret::expose`] where it is really needed.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value itself.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when no value is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures must return figment::Error
mod tests {
    use super::*;

    #[derive(Debug, Default, Serialize, Deserialize)]
    struct Sample {
        name: String,
        inner: Inner,
    }

    #[derive(Debug, Default, Serialize, Deserialize)]
    struct Inner {
        url: Secret,
        port: u16,
    }

    #[test]
    fn secrets_never_print() {
        let s = Sample {
            name: "x".into(),
            inner: Inner {
                url: Secret::new("postgres://u:hunter2@db/x"),
                port: 1,
            },
        };
        let text = format!("{s:?} {}", s.inner.url);
        assert!(!text.contains("hunter2"), "{text}");
        assert_eq!(s.inner.url.expose(), "postgres://u:hunter2@db/x");
    }

    #[test]
    fn layers_defaults_file_and_env() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("crm.toml", "name = \"from-file\"\n[inner]\nport = 7\n")?;
            jail.set_env("CRM_CONFIG", "crm.toml");
            jail.set_env("CRM_INNER__URL", "sqlite://x.db");
            let cfg: Sample = load().map_err(|e| e.to_string())?;
            assert_eq!(cfg.name, "from-file");
            assert_eq!(cfg.inner.port, 7);
            assert_eq!(cfg.inner.url.expose(), "sqlite://x.db");
            jail.set_env("CRM_INNER__PORT", "9");
            let cfg: Sample = load().map_err(|e| e.to_string())?;
            assert_eq!(cfg.inner.port, 9, "environment wins over the file");
            Ok(())
        });
    }

    #[test]
    fn bad_values_name_the_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("CRM_INNER__PORT", "not-a-port");
            let err = load::<Sample>()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("port"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn missing_config_file_is_an_error() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("CRM_CONFIG", "nope.toml");
            assert!(load::<Sample>().is_err());
            Ok(())
        });
    }
}
