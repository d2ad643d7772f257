#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("X-Hub-Signature-256 is not provided or invalid")]
    Missing,
    #[error("Invalid X-Hub-Signature-256")]
    Mismatch,
}

/// Checks `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(body, secret)>` in constant time.
pub fn verify_signature(secret: &str, body: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
    let _ = (secret, body, header);
    todo!("meta helper")
}
