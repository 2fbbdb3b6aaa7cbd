//! The signing keys of access tokens. In `crm dev` the key is generated on first start and kept
//! in the data dir; in Kubernetes it comes from a Secret mounted as a file. A previous key file
//! keeps verifying the tokens it signed while they live (rotation).
use crm_platform::token::{Issuer, SigningKey};
use std::path::Path;

/// Reads a key file: the kid on the first line, base64 PKCS#8 DER on the second.
pub fn read(path: &Path) -> anyhow::Result<SigningKey> {
    use base64::Engine;
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("signing key {}: {e}", path.display()))?;
    let mut lines = text.lines();
    let (Some(kid), Some(der)) = (lines.next(), lines.next()) else {
        anyhow::bail!(
            "signing key {}: expected the kid and the key on two lines",
            path.display()
        );
    };
    let der = base64::engine::general_purpose::STANDARD
        .decode(der.trim())
        .map_err(|e| anyhow::anyhow!("signing key {}: {e}", path.display()))?;
    SigningKey::from_pkcs8(kid.trim(), &der)
        .map_err(|e| anyhow::anyhow!("signing key {}: {e}", path.display()))
}

/// Writes a new key file readable only by its owner.
pub fn write(path: &Path, key: &SigningKey) -> anyhow::Result<()> {
    use base64::Engine;
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    writeln!(file, "{}", key.kid())?;
    writeln!(
        file,
        "{}",
        base64::engine::general_purpose::STANDARD.encode(key.pkcs8())
    )?;
    Ok(())
}

/// The token issuer: the key in `current` (generated and written there when missing), and the
/// key in `previous` when given.
pub fn issuer(
    current: Option<&Path>,
    previous: Option<&Path>,
    issuer_name: &str,
    audience: &str,
    ttl: chrono::Duration,
) -> anyhow::Result<Issuer> {
    let key = match current {
        Some(path) if path.exists() => read(path)?,
        Some(path) => {
            let key = SigningKey::generate()?;
            write(path, &key)?;
            tracing::info!(kid = key.kid(), path = %path.display(), "generated a signing key");
            key
        }
        None => {
            tracing::warn!("no signing key file configured: tokens will not survive a restart");
            SigningKey::generate()?
        }
    };
    let previous = previous.map(read).transpose()?;
    Ok(Issuer::new(key, previous, issuer_name, audience, ttl))
}
