//! Checklist 21: the webhook's `X-Hub-Signature-256` check.

use votebox_meta::{SignatureError, signature_header, verify_signature};

const SECRET: &str = "It's a Secret to Everybody";
const BODY: &[u8] = b"Hello, World!";
/// GitHub's documented example ("Validating webhook deliveries").
const GITHUB_EXAMPLE: &str =
    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

#[test]
fn checklist_21_signature_valid_github_example() {
    assert_eq!(verify_signature(SECRET, BODY, Some(GITHUB_EXAMPLE)), Ok(()));
    assert_eq!(signature_header(SECRET, BODY), GITHUB_EXAMPLE);
}

#[test]
fn checklist_21_signature_valid_json_body() {
    let body = br#"{"ref":"refs/heads/main","zen":"Keep it logically awesome."}"#;
    let header = signature_header("s3cret", body);
    assert_eq!(verify_signature("s3cret", body, Some(&header)), Ok(()));
}

#[test]
fn checklist_21_signature_valid_empty_body() {
    // Elekto signs Flask's `request.data`, which is empty for form posts; that still verifies.
    let header = signature_header("s3cret", b"");
    assert_eq!(verify_signature("s3cret", b"", Some(&header)), Ok(()));
}

#[test]
fn checklist_21_signature_uppercase_hex_accepted() {
    let upper = format!(
        "sha256={}",
        GITHUB_EXAMPLE["sha256=".len()..].to_ascii_uppercase()
    );
    assert_eq!(verify_signature(SECRET, BODY, Some(&upper)), Ok(()));
}

#[test]
fn checklist_21_signature_missing_header() {
    assert_eq!(
        verify_signature(SECRET, BODY, None),
        Err(SignatureError::Missing)
    );
}

#[test]
fn checklist_21_signature_without_sha256_prefix() {
    let hex = &GITHUB_EXAMPLE["sha256=".len()..];
    assert_eq!(
        verify_signature(SECRET, BODY, Some(hex)),
        Err(SignatureError::Missing)
    );
    let sha1 = format!("sha1={hex}");
    assert_eq!(
        verify_signature(SECRET, BODY, Some(&sha1)),
        Err(SignatureError::Missing)
    );
    let upper_prefix = format!("SHA256={hex}");
    assert_eq!(
        verify_signature(SECRET, BODY, Some(&upper_prefix)),
        Err(SignatureError::Missing)
    );
    assert_eq!(
        verify_signature(SECRET, BODY, Some("")),
        Err(SignatureError::Missing)
    );
}

#[test]
fn checklist_21_signature_wrong_secret() {
    assert_eq!(
        verify_signature("not the secret", BODY, Some(GITHUB_EXAMPLE)),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify_signature("", BODY, Some(GITHUB_EXAMPLE)),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn checklist_21_signature_bad_hex() {
    for header in [
        "sha256=",
        "sha256=zz",
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1",
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17 ",
        "sha256= 757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043g17",
    ] {
        assert_eq!(
            verify_signature(SECRET, BODY, Some(header)),
            Err(SignatureError::Mismatch),
            "{header:?}"
        );
    }
}

#[test]
fn checklist_21_signature_wrong_length() {
    // Valid hex, but a truncated or extended MAC.
    let truncated = &GITHUB_EXAMPLE[..GITHUB_EXAMPLE.len() - 2];
    assert_eq!(
        verify_signature(SECRET, BODY, Some(truncated)),
        Err(SignatureError::Mismatch)
    );
    let extended = format!("{GITHUB_EXAMPLE}00");
    assert_eq!(
        verify_signature(SECRET, BODY, Some(&extended)),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn checklist_21_signature_tampered_body() {
    assert_eq!(
        verify_signature(SECRET, b"Hello, World?", Some(GITHUB_EXAMPLE)),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify_signature(SECRET, b"", Some(GITHUB_EXAMPLE)),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn checklist_21_signature_error_texts_match_elekto() {
    assert_eq!(
        SignatureError::Missing.to_string(),
        "X-Hub-Signature-256 is not provided or invalid"
    );
    assert_eq!(
        SignatureError::Mismatch.to_string(),
        "Invalid X-Hub-Signature-256"
    );
}
