//! Tests for the ballot link crypto against Elekto's real output.
//!
//! The PyNaCl 1.5.0 vectors are **not** in this repository: they are read at run time from the
//! shared fixtures next to it, `shared/fixtures/crypto/vectors.json` (here
//! `$CARGO_MANIFEST_DIR/../../../shared/fixtures/crypto/vectors.json`), whose format and
//! provenance are described in `shared/fixtures/crypto/README.md`. The §5.3 vector is from
//! `shared/design/elekto-reference.md`.
//!
//! Each real Argon2i derivation costs ~3–4 s and 512 MiB, so the budget is kept to **15**: one
//! per positive vector (12, run on parallel threads), two for §5.3 (`encrypt_link` and
//! `decrypt_link`) and one wrong passphrase. Everything else uses the keys recorded in the
//! fixture (`key_hex`) and tests only the SecretBox layer.

use std::time::Instant;

use proptest::prelude::*;
use serde::Deserialize;

use super::*;

const VECTORS_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/crypto/vectors.json"
);

#[derive(Deserialize)]
struct Fixture {
    kdf: KdfInfo,
    aead: AeadInfo,
    vectors: Vec<Vector>,
    negative: Vec<Negative>,
    edge: Vec<Edge>,
}

#[derive(Deserialize)]
struct KdfInfo {
    opslimit: u32,
    memlimit_bytes: u32,
    salt_len: usize,
    key_len: usize,
}

#[derive(Deserialize)]
struct AeadInfo {
    nonce_len: usize,
    tag_len: usize,
}

#[derive(Deserialize)]
struct Vector {
    name: String,
    passphrase: String,
    passphrase_utf8_hex: String,
    salt_hex: String,
    key_hex: String,
    blob_hex: String,
    blob_len: usize,
    nonce_hex: String,
    tag_hex: String,
    ciphertext_hex: String,
    plaintext: String,
    expected: String,
}

#[derive(Deserialize)]
struct Negative {
    name: String,
    passphrase: String,
    salt_hex: String,
    key_hex: String,
    blob_hex: String,
    blob_len: usize,
    expected: String,
}

#[derive(Deserialize)]
struct Edge {
    name: String,
    key_hex: String,
    blob_hex: String,
    plaintext_bytes_hex: String,
    expected: String,
}

fn fixture() -> Fixture {
    let text = std::fs::read_to_string(VECTORS_PATH).unwrap_or_else(|err| {
        panic!("cannot read the shared crypto vectors {VECTORS_PATH}: {err}")
    });
    serde_json::from_str(&text).expect("vectors.json does not parse")
}

fn unhex(hex: &str) -> Vec<u8> {
    hex::decode(hex).unwrap_or_else(|err| panic!("bad hex {hex:?}: {err}"))
}

fn unhex_array<const N: usize>(hex: &str) -> [u8; N] {
    unhex(hex)
        .try_into()
        .unwrap_or_else(|v: Vec<u8>| panic!("expected {N} bytes, got {}: {hex}", v.len()))
}

fn key_from_hex(hex: &str) -> Key {
    Key::from_bytes(unhex_array(hex))
}

fn nonce_of(blob: &[u8]) -> [u8; NONCE_LEN] {
    blob[..NONCE_LEN].try_into().unwrap()
}

/// Runs the real KDF for each job on up to 4 threads (each holds 512 MiB while it runs) and
/// returns the keys in job order.
fn derive_all(jobs: &[(&[u8], [u8; SALT_LEN])]) -> Vec<Key> {
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 4)
        .min(jobs.len().max(1));
    let mut keys: Vec<Option<Key>> = (0..jobs.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                scope.spawn(move || {
                    jobs.iter()
                        .enumerate()
                        .skip(w)
                        .step_by(workers)
                        .map(|(i, (passphrase, salt))| {
                            let start = Instant::now();
                            let key = derive_key(passphrase, salt).expect("real KDF failed");
                            eprintln!("argon2i kdf #{i}: {:.2?}", start.elapsed());
                            (i, key)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for handle in handles {
            for (i, key) in handle.join().expect("KDF worker panicked") {
                keys[i] = Some(key);
            }
        }
    });
    keys.into_iter().map(Option::unwrap).collect()
}

// ---------------------------------------------------------------------------------------------
// §5.3 vector (elekto-reference.md)

const REF_PASSPHRASE: &str = "correct horse";
const REF_SALT: [u8; SALT_LEN] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
const REF_KEY_HEX: &str = "4287bcdf86f2029a9b6864e0061ef0303f6a386e001626a3fc6bda724e50f3b2";
const REF_PLAINTEXT: &str = "0b6f2c8e-8d3c-4a57-9f5e-1d2b3c4d5e6f";
const REF_BLOB_HEX: &str = concat!(
    "000102030405060708090a0b0c0d0e0f1011121314151617",
    "8905a5ca5176e26fb65f4d2ae4fff07e",
    "cf980598fcea62dce2985ce0056b7ab6d1d20f099413da177008119eff6729817e9986ba",
);

fn ref_nonce() -> [u8; NONCE_LEN] {
    std::array::from_fn(|i| i as u8)
}

/// 2 KDFs: `encrypt_link` must reproduce PyNaCl's bytes and `decrypt_link` must open them.
#[test]
fn reference_5_3_encrypt_link_and_decrypt_link_real_kdf() {
    let blob = encrypt_link(REF_PASSPHRASE, &REF_SALT, &ref_nonce(), REF_PLAINTEXT).unwrap();
    assert_eq!(hex::encode(&blob), REF_BLOB_HEX);
    assert_eq!(blob.len(), 76);
    let opened = decrypt_link(REF_PASSPHRASE, &REF_SALT, &blob).unwrap();
    assert_eq!(opened, REF_PLAINTEXT);
}

/// No KDF: the SecretBox layer of §5.3 with the recorded key.
#[test]
fn reference_5_3_secretbox_layer() {
    let key = key_from_hex(REF_KEY_HEX);
    let blob = unhex(REF_BLOB_HEX);
    assert_eq!(seal(&key, &ref_nonce(), REF_PLAINTEXT.as_bytes()), blob);
    assert_eq!(open_link(&key, &blob).unwrap(), REF_PLAINTEXT);
}

// ---------------------------------------------------------------------------------------------
// vectors.json

#[test]
fn fixture_parameters_match_our_constants() {
    let f = fixture();
    assert_eq!(f.kdf.opslimit, OPSLIMIT);
    assert_eq!(f.kdf.memlimit_bytes, MEMLIMIT_BYTES);
    assert_eq!(f.kdf.salt_len, SALT_LEN);
    assert_eq!(f.kdf.key_len, KEY_LEN);
    assert_eq!(f.aead.nonce_len, NONCE_LEN);
    assert_eq!(f.aead.tag_len, TAG_LEN);
    assert_eq!(f.vectors.len(), 12);
    assert_eq!(f.negative.len(), 13);
    assert_eq!(f.edge.len(), 1);
}

/// 12 KDFs (parallel): for every PyNaCl vector our Argon2i key is bit-identical to libsodium's,
/// the blob opens to the ballot id, and sealing the ballot id under the vector's nonce gives
/// back the stored blob byte for byte.
#[test]
fn pynacl_vectors_real_kdf_key_open_and_seal() {
    let f = fixture();
    let passphrases: Vec<Vec<u8>> = f
        .vectors
        .iter()
        .map(|v| unhex(&v.passphrase_utf8_hex))
        .collect();
    let jobs: Vec<(&[u8], [u8; SALT_LEN])> = f
        .vectors
        .iter()
        .zip(&passphrases)
        .map(|(v, p)| (p.as_slice(), unhex_array(&v.salt_hex)))
        .collect();
    let start = Instant::now();
    let keys = derive_all(&jobs);
    eprintln!("{} KDFs in {:.2?}", keys.len(), start.elapsed());

    for (v, key) in f.vectors.iter().zip(&keys) {
        assert_eq!(
            hex::encode(key.as_bytes()),
            v.key_hex,
            "{}: derived key",
            v.name
        );
        let blob = unhex(&v.blob_hex);
        assert_eq!(
            open_link(key, &blob).as_deref(),
            Ok(v.plaintext.as_str()),
            "{}",
            v.name
        );
        assert_eq!(
            seal(key, &nonce_of(&blob), v.plaintext.as_bytes()),
            blob,
            "{}: seal",
            v.name
        );
    }
}

/// No KDF: structure of every positive vector and the SecretBox layer with the recorded key.
#[test]
fn pynacl_vectors_secretbox_layer() {
    for v in fixture().vectors {
        assert_eq!(v.expected, "ok", "{}", v.name);
        // What we feed the KDF is the passphrase's UTF-8, untouched.
        assert_eq!(
            v.passphrase.as_bytes(),
            unhex(&v.passphrase_utf8_hex),
            "{}",
            v.name
        );
        let blob = unhex(&v.blob_hex);
        assert_eq!(blob.len(), v.blob_len, "{}", v.name);
        assert_eq!(blob.len(), MIN_BLOB_LEN + v.plaintext.len(), "{}", v.name);
        let parts = split_blob(&blob).unwrap();
        assert_eq!(hex::encode(parts.nonce), v.nonce_hex, "{}", v.name);
        assert_eq!(hex::encode(parts.tag), v.tag_hex, "{}", v.name);
        assert_eq!(
            hex::encode(parts.ciphertext),
            v.ciphertext_hex,
            "{}",
            v.name
        );

        let key = key_from_hex(&v.key_hex);
        assert_eq!(
            open(&key, &blob),
            Ok(v.plaintext.clone().into_bytes()),
            "{}",
            v.name
        );
        assert_eq!(
            seal(&key, parts.nonce, v.plaintext.as_bytes()),
            blob,
            "{}",
            v.name
        );
    }
}

/// 1 KDF: the passphrase missing its last character fails with `WrongPassphrase`, through the
/// whole `decrypt_link` path.
#[test]
fn wrong_passphrase_real_kdf() {
    let f = fixture();
    let n = f
        .negative
        .iter()
        .find(|n| n.name == "wrong-passphrase")
        .unwrap();
    let result = decrypt_link(&n.passphrase, &unhex(&n.salt_hex), &unhex(&n.blob_hex));
    assert_eq!(result, Err(CryptoError::WrongPassphrase));
}

/// No KDF: every negative vector fails with the key that attempt derives (recorded), and never
/// yields a plaintext. Blobs shorter than nonce + tag are `Malformed`, and `decrypt_link`
/// rejects them without running the KDF.
#[test]
fn negative_vectors_never_open() {
    let f = fixture();
    for n in &f.negative {
        assert_eq!(n.expected, "authentication_fails", "{}", n.name);
        let blob = unhex(&n.blob_hex);
        assert_eq!(blob.len(), n.blob_len, "{}", n.name);
        let result = open(&key_from_hex(&n.key_hex), &blob);
        if blob.len() < MIN_BLOB_LEN {
            let expected = CryptoError::Malformed(Malformed::BlobTooShort { len: blob.len() });
            assert_eq!(result, Err(expected), "{}", n.name);
            let start = Instant::now();
            let via_link = decrypt_link(&n.passphrase, &unhex(&n.salt_hex), &blob);
            assert_eq!(via_link, Err(expected), "{}", n.name);
            assert!(start.elapsed().as_millis() < 500, "{}: the KDF ran", n.name);
        } else {
            assert_eq!(result, Err(CryptoError::WrongPassphrase), "{}", n.name);
        }
    }
    let short: Vec<_> = f
        .negative
        .iter()
        .filter(|n| n.blob_len < MIN_BLOB_LEN)
        .collect();
    assert_eq!(
        short.len(),
        3,
        "truncated-to-39, truncated-to-20, empty-blob"
    );
}

/// No KDF: a box that authenticates but holds non-UTF-8 bytes (Elekto cannot make one).
#[test]
fn edge_authentic_but_not_utf8() {
    for e in fixture().edge {
        assert_eq!(
            e.expected, "authenticates_then_utf8_decode_fails",
            "{}",
            e.name
        );
        let key = key_from_hex(&e.key_hex);
        let blob = unhex(&e.blob_hex);
        assert_eq!(
            open(&key, &blob),
            Ok(unhex(&e.plaintext_bytes_hex)),
            "{}",
            e.name
        );
        assert_eq!(
            open_link(&key, &blob),
            Err(CryptoError::Malformed(Malformed::PlaintextNotUtf8)),
            "{}",
            e.name
        );
    }
}

// ---------------------------------------------------------------------------------------------
// API behaviour without the KDF

#[test]
fn decrypt_link_rejects_bad_salt_length_before_kdf() {
    let blob = unhex(REF_BLOB_HEX);
    for len in [0, 8, 15, 17, 32] {
        assert_eq!(
            decrypt_link(REF_PASSPHRASE, &vec![0; len], &blob),
            Err(CryptoError::Malformed(Malformed::SaltLength { len })),
        );
    }
}

#[test]
fn random_salts_and_nonces_are_fresh() {
    assert_ne!(random_salt(), random_salt());
    assert_ne!(random_nonce(), random_nonce());
    assert_ne!(random_salt(), [0; SALT_LEN]);
}

#[test]
fn key_debug_is_redacted() {
    let key = Key::from_bytes([0xab; KEY_LEN]);
    let shown = format!("{key:?}");
    assert!(!shown.to_lowercase().contains("ab"), "{shown}");
    assert!(!shown.contains("171"), "{shown}");
}

#[test]
fn error_messages() {
    assert_eq!(
        CryptoError::from(Malformed::BlobTooShort { len: 3 }).to_string(),
        "malformed ballot link: blob is 3 bytes, shorter than nonce and tag (40)"
    );
    assert_eq!(
        CryptoError::from(Malformed::SaltLength { len: 0 }).to_string(),
        "malformed ballot link: salt is 0 bytes, expected 16"
    );
}

proptest! {
    /// Sealed blobs have the combined layout, open again, and any bit flip, truncation or other
    /// key makes them fail without panicking.
    #[test]
    fn seal_open_roundtrip_and_tamper(
        key_bytes in any::<[u8; KEY_LEN]>(),
        other_key in any::<[u8; KEY_LEN]>(),
        nonce in any::<[u8; NONCE_LEN]>(),
        plaintext in proptest::collection::vec(any::<u8>(), 0..128),
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
        cut in any::<prop::sample::Index>(),
    ) {
        let key = Key::from_bytes(key_bytes);
        let blob = seal(&key, &nonce, &plaintext);
        prop_assert_eq!(blob.len(), MIN_BLOB_LEN + plaintext.len());
        prop_assert_eq!(&blob[..NONCE_LEN], &nonce[..]);
        prop_assert_eq!(open(&key, &blob), Ok(plaintext.clone()));

        let mut tampered = blob.clone();
        tampered[flip.index(blob.len())] ^= 1 << bit;
        prop_assert_eq!(open(&key, &tampered), Err(CryptoError::WrongPassphrase));

        let len = cut.index(blob.len());
        let expected = if len < MIN_BLOB_LEN {
            CryptoError::Malformed(Malformed::BlobTooShort { len })
        } else {
            CryptoError::WrongPassphrase
        };
        prop_assert_eq!(open(&key, &blob[..len]), Err(expected));

        if other_key != key_bytes {
            let other = Key::from_bytes(other_key);
            prop_assert_eq!(open(&other, &blob), Err(CryptoError::WrongPassphrase));
        }
    }
}

/// With the `libsodium` feature both Argon2i implementations are built: they must agree byte
/// for byte (the vector tests above then check libsodium's keys against PyNaCl's).
#[cfg(feature = "libsodium")]
#[test]
fn libsodium_and_rust_argon2i_derive_the_same_key() {
    let salt = [0x5a; SALT_LEN];
    let passphrase = "same passphrase, två implementations".as_bytes();
    let keys = std::thread::scope(|s| {
        let rust = s.spawn(|| derive_key_with(Argon2i::RustCrypto, passphrase, &salt).unwrap());
        let sodium = s.spawn(|| derive_key_with(Argon2i::Libsodium, passphrase, &salt).unwrap());
        [rust.join().unwrap(), sodium.join().unwrap()]
    });
    assert_eq!(
        hex::encode(keys[0].as_bytes()),
        hex::encode(keys[1].as_bytes())
    );
}
