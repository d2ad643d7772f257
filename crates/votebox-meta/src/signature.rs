//! The push webhook's `X-Hub-Signature-256` check (reference §3.9, checklist 21).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("X-Hub-Signature-256 is not provided or invalid")]
    Missing,
    #[error("Invalid X-Hub-Signature-256")]
    Mismatch,
}

/// Checks `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(body, secret)>` in constant time.
///
/// * no header, or a header that does not start with `sha256=` → [`SignatureError::Missing`]
///   (Elekto's first 400);
/// * anything else that is not the right MAC — bad hex, wrong length, wrong secret, altered body →
///   [`SignatureError::Mismatch`] (Elekto's second 400).
///
/// The hex digits may be upper or lower case (Elekto only accepts lower case, so every request it
/// accepts is accepted here). The MAC is compared with [`Mac::verify_slice`], in constant time.
/// The caller decides what an unset `META_SECRET` means; this function only checks.
pub fn verify_signature(
    secret: &str,
    body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    let hex_mac = header
        .and_then(|value| value.strip_prefix("sha256="))
        .ok_or(SignatureError::Missing)?;
    let tag = hex::decode(hex_mac).map_err(|_| SignatureError::Mismatch)?;
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| SignatureError::Mismatch)?;
    mac.update(body);
    mac.verify_slice(&tag).map_err(|_| SignatureError::Mismatch)
}

/// `sha256=<lowercase hex>` for `body` under `secret`, as GitHub sends it. For tests and tools.
pub fn signature_header(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}
