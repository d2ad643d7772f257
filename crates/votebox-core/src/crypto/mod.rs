//! Elekto-compatible voter→ballot link encryption (reference §5.3), byte for byte.
//!
//! When a vote is cast, Elekto stores in `voter.ballot_id` the ballot-voter uuid (the value of
//! `ballot.voter` for every row of that vote) encrypted under a key derived from the voter's
//! passphrase, and in `voter.salt` the 16-byte salt of that derivation:
//!
//! * **key** = libsodium `crypto_pwhash` Argon2i v1.3 (`0x13`) with PyNaCl's defaults
//!   ([`OPSLIMIT`] = 8 passes, [`MEMLIMIT_BYTES`] = 512 MiB, 1 lane, 32-byte output, no secret, no
//!   associated data) over the passphrase's UTF-8 bytes exactly as typed (no trimming, no Unicode
//!   normalisation) and the salt;
//! * **blob** = NaCl `SecretBox` (XSalsa20-Poly1305) in PyNaCl's combined format:
//!   `nonce (24) ‖ Poly1305 tag (16) ‖ ciphertext`, so 76 bytes for a 36-character uuid.
//!
//! Blobs written by Elekto open here and blobs written here open in Elekto (the tests check every
//! vector in `shared/fixtures/crypto/vectors.json`, made with PyNaCl 1.5.0).
//!
//! # Two Argon2i implementations
//!
//! With the `libsodium` feature (on by default in the `votebox` binary) the key comes from
//! libsodium's `crypto_pwhash_argon2i`, the very function PyNaCl calls, with its AVX-512/AVX2
//! fill routines picked at run time: about 1.3x faster here than the pure-Rust `argon2` crate,
//! which is what makes a cast as quick as Elekto's. Without it, the `argon2` crate derives the
//! same bytes (a test derives with both when the feature is on).
//!
//! # Cost
//!
//! Every [`derive_key`] (hence every [`encrypt_link`] and [`decrypt_link`]) allocates **512 MiB**
//! and burns about 3–4 s of one core. It is blocking: call it from `spawn_blocking`, behind a
//! limit on how many run at once. [`decrypt_link`] rejects a malformed salt or blob *before*
//! paying for the KDF.
//!
//! # Errors and Elekto
//!
//! Elekto turns every failure (authentication, a blob shorter than the nonce, non-UTF-8
//! plaintext) into the same "Incorrect password" flash. This module keeps them apart
//! ([`CryptoError`]) for logs and tests; the web layer should show the same message for all of
//! them. Legacy (schema v1) voter rows have a NULL salt and blob: the caller handles that before
//! coming here.
//!
//! # Secrets
//!
//! [`Key`] wipes itself on drop. Passphrases are borrowed and never copied by this module, and
//! plaintexts that fail UTF-8 decoding are wiped before the error is returned. (argon2 0.6 frees
//! its 512 MiB work area without wiping it; the allocator returns such a large mapping to the
//! kernel, which zeroes pages before reuse.)

use crypto_secretbox::XSalsa20Poly1305;
use crypto_secretbox::aead::{AeadInPlace, KeyInit};
use rand::RngCore;
use zeroize::{Zeroize, ZeroizeOnDrop};

#[cfg(test)]
mod tests;

/// Argon2i passes (`t_cost`): libsodium's `crypto_pwhash_argon2i_OPSLIMIT_SENSITIVE`, the
/// default of PyNaCl's `argon2i.kdf` that Elekto uses.
pub const OPSLIMIT: u32 = 8;

/// Argon2i memory in **bytes** (libsodium's unit): `crypto_pwhash_argon2i_MEMLIMIT_SENSITIVE`,
/// 512 MiB. Argon2's `m_cost` is this divided by 1024 (KiB).
pub const MEMLIMIT_BYTES: u32 = 536_870_912;

/// Length of `voter.salt` (`crypto_pwhash_argon2i_SALTBYTES`).
pub const SALT_LEN: usize = 16;

/// Length of the SecretBox nonce at the start of every blob (`crypto_secretbox_NONCEBYTES`).
pub const NONCE_LEN: usize = 24;

/// Length of the Poly1305 tag that follows the nonce (`crypto_secretbox_MACBYTES`).
pub const TAG_LEN: usize = 16;

/// Length of the derived key (`crypto_secretbox_KEYBYTES`).
pub const KEY_LEN: usize = 32;

/// The shortest blob that can authenticate: nonce and tag around an empty message.
pub const MIN_BLOB_LEN: usize = NONCE_LEN + TAG_LEN;

/// Argon2 lanes. libsodium's `crypto_pwhash` always uses one.
const LANES: u32 = 1;

/// Why a ballot link could not be encrypted or decrypted.
///
/// Elekto shows the same "Incorrect password" message for every variant; so should votebox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The box did not authenticate: wrong passphrase, wrong salt, or a tampered or truncated
    /// blob that is still long enough to hold a nonce and a tag.
    #[error("wrong passphrase: the ballot link does not authenticate")]
    WrongPassphrase,
    /// The stored salt or blob cannot be a ballot link, or it opened to something that is not
    /// UTF-8 (Elekto can never produce that).
    #[error("malformed ballot link: {0}")]
    Malformed(#[from] Malformed),
    /// Argon2 refused its inputs or could not allocate its 512 MiB.
    #[error("key derivation failed: {0}")]
    Kdf(#[from] KdfError),
}

/// Why the Argon2i derivation itself failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KdfError {
    /// The pure-Rust `argon2` crate refused.
    #[error(transparent)]
    Argon2(#[from] argon2::Error),
    /// libsodium could not start, or `crypto_pwhash_argon2i` failed (it fails only when it
    /// cannot allocate its memory or the passphrase is 4 GiB or longer).
    #[error("libsodium's crypto_pwhash_argon2i failed (out of memory?)")]
    Libsodium,
}

/// What exactly was malformed; see [`CryptoError::Malformed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    /// `voter.salt` is not 16 bytes.
    #[error("salt is {len} bytes, expected {SALT_LEN}")]
    SaltLength {
        /// The length that was found.
        len: usize,
    },
    /// The blob is shorter than nonce + tag (40 bytes).
    #[error("blob is {len} bytes, shorter than nonce and tag ({MIN_BLOB_LEN})")]
    BlobTooShort {
        /// The length that was found.
        len: usize,
    },
    /// The box authenticated but its plaintext is not UTF-8.
    #[error("plaintext is not UTF-8")]
    PlaintextNotUtf8,
}

/// A 32-byte SecretBox key derived from a passphrase. Wiped on drop; `Debug` never shows it.
pub struct Key([u8; KEY_LEN]);

impl Key {
    /// Wraps raw key bytes (for example a test vector's `key_hex`).
    #[must_use]
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// The raw key bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    fn cipher(&self) -> XSalsa20Poly1305 {
        XSalsa20Poly1305::new((&self.0).into())
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl ZeroizeOnDrop for Key {}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}

/// Derives the SecretBox key exactly as Elekto's `nacl.pwhash.argon2i.kdf(32, passphrase, salt)`:
/// Argon2i v0x13, `m_cost` = [`MEMLIMIT_BYTES`] / 1024 KiB, `t_cost` = [`OPSLIMIT`], 1 lane.
///
/// `passphrase` is the UTF-8 encoding of what the voter typed, untouched.
///
/// **Blocking, ~3–4 s and 512 MiB.** Fails only if Argon2 rejects the input (a passphrase of
/// 4 GiB or more) or cannot allocate its memory.
pub fn derive_key(passphrase: &[u8], salt: &[u8; SALT_LEN]) -> Result<Key, CryptoError> {
    derive_key_with(Argon2i::DEFAULT, passphrase, salt)
}

/// An implementation of Argon2i; both derive the same keys (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Argon2i {
    /// The pure-Rust `argon2` crate.
    RustCrypto,
    /// libsodium's `crypto_pwhash_argon2i`, as PyNaCl (the `libsodium` feature).
    #[cfg(feature = "libsodium")]
    Libsodium,
}

impl Argon2i {
    /// What [`derive_key`] uses: libsodium when it is built in.
    #[cfg(feature = "libsodium")]
    pub const DEFAULT: Argon2i = Argon2i::Libsodium;
    /// What [`derive_key`] uses: libsodium when it is built in.
    #[cfg(not(feature = "libsodium"))]
    pub const DEFAULT: Argon2i = Argon2i::RustCrypto;

    /// Every implementation in this build, the default first.
    pub const BUILT_IN: &[Argon2i] = &[
        #[cfg(feature = "libsodium")]
        Argon2i::Libsodium,
        Argon2i::RustCrypto,
    ];

    /// A short name for logs and benchmarks.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Argon2i::RustCrypto => "argon2 (pure Rust)",
            #[cfg(feature = "libsodium")]
            Argon2i::Libsodium => "libsodium",
        }
    }
}

/// [`derive_key`] with a chosen implementation (benchmarks and the equivalence test).
pub fn derive_key_with(
    implementation: Argon2i,
    passphrase: &[u8],
    salt: &[u8; SALT_LEN],
) -> Result<Key, CryptoError> {
    // Derive straight into the key so that no other copy exists; on error it is wiped on drop.
    let mut key = Key([0; KEY_LEN]);
    match implementation {
        Argon2i::RustCrypto => rust_argon2i(passphrase, salt, &mut key.0)?,
        #[cfg(feature = "libsodium")]
        Argon2i::Libsodium => libsodium_argon2i(passphrase, salt, &mut key.0)?,
    }
    Ok(key)
}

/// Argon2i with Elekto's parameters by the pure-Rust `argon2` crate.
fn rust_argon2i(
    passphrase: &[u8],
    salt: &[u8; SALT_LEN],
    out: &mut [u8; KEY_LEN],
) -> Result<(), KdfError> {
    use argon2::{Algorithm, Argon2, Params, Version};
    let params = Params::new(MEMLIMIT_BYTES / 1024, OPSLIMIT, LANES, Some(KEY_LEN))?;
    Argon2::new(Algorithm::Argon2i, Version::V0x13, params)
        .hash_password_into(passphrase, salt, out)?;
    Ok(())
}

/// Argon2i with Elekto's parameters by libsodium, exactly PyNaCl's `argon2i.kdf` call.
#[cfg(feature = "libsodium")]
fn libsodium_argon2i(
    passphrase: &[u8],
    salt: &[u8; SALT_LEN],
    out: &mut [u8; KEY_LEN],
) -> Result<(), KdfError> {
    use libsodium_sys as sodium;
    // `sodium_init` is thread-safe and idempotent (0: done now, 1: done before). It is also
    // what selects the CPU's fastest Argon2 fill routine; without it libsodium runs the
    // portable one.
    // SAFETY: no arguments; libsodium documents it as safe to call from any thread, repeatedly.
    if unsafe { sodium::sodium_init() } < 0 {
        return Err(KdfError::Libsodium);
    }
    let passphrase_len = u64::try_from(passphrase.len()).map_err(|_| KdfError::Libsodium)?;
    // SAFETY: every pointer comes from a live slice or array with its true length; `out` is
    // KEY_LEN bytes and libsodium writes exactly `outlen` bytes; salt is SALT_LEN (16) bytes,
    // as crypto_pwhash_argon2i_SALTBYTES requires. libsodium keeps no pointer after returning.
    let rc = unsafe {
        sodium::crypto_pwhash_argon2i(
            out.as_mut_ptr(),
            KEY_LEN as u64,
            passphrase.as_ptr().cast(),
            passphrase_len,
            salt.as_ptr(),
            u64::from(OPSLIMIT),
            MEMLIMIT_BYTES as usize,
            sodium::crypto_pwhash_argon2i_ALG_ARGON2I13 as _,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(KdfError::Libsodium)
    }
}

/// Encrypts `plaintext` into PyNaCl's combined format `nonce ‖ tag(16) ‖ ciphertext`, as
/// `SecretBox(key).encrypt(plaintext, nonce)` does. The nonce must never repeat under one key;
/// use [`random_nonce`].
#[must_use]
pub fn seal(key: &Key, nonce: &[u8; NONCE_LEN], plaintext: &[u8]) -> Vec<u8> {
    let mut blob = Vec::with_capacity(MIN_BLOB_LEN + plaintext.len());
    blob.extend_from_slice(nonce);
    blob.extend_from_slice(&[0; TAG_LEN]);
    blob.extend_from_slice(plaintext);
    let (head, body) = blob.split_at_mut(MIN_BLOB_LEN);
    let tag = key
        .cipher()
        .encrypt_in_place_detached(nonce.into(), b"", body)
        .expect("XSalsa20Poly1305 only fails when given associated data, and none is given");
    head[NONCE_LEN..].copy_from_slice(&tag);
    blob
}

/// Opens a blob in PyNaCl's combined format. Never panics.
///
/// # Errors
/// * [`Malformed::BlobTooShort`] if `blob` is shorter than nonce + tag (40 bytes);
/// * [`CryptoError::WrongPassphrase`] if the tag does not verify.
pub fn open(key: &Key, blob: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let parts = split_blob(blob)?;
    let mut plaintext = parts.ciphertext.to_vec();
    key.cipher()
        .decrypt_in_place_detached(parts.nonce.into(), b"", &mut plaintext, parts.tag.into())
        .map_err(|_| CryptoError::WrongPassphrase)?;
    Ok(plaintext)
}

/// [`open`], then decodes the plaintext as UTF-8 like Elekto's `decrypt()`.
///
/// # Errors
/// Those of [`open`], and [`Malformed::PlaintextNotUtf8`] (the bytes are wiped first).
pub fn open_link(key: &Key, blob: &[u8]) -> Result<String, CryptoError> {
    String::from_utf8(open(key, blob)?).map_err(|err| {
        err.into_bytes().zeroize();
        Malformed::PlaintextNotUtf8.into()
    })
}

/// Elekto's `encrypt(salt, passcode, target)`: derives the key from `passphrase` and `salt`,
/// then seals the ballot-voter uuid under `nonce`. Store `salt` in `voter.salt` and the result
/// (76 bytes for a uuid) in `voter.ballot_id`.
///
/// **Blocking, ~3–4 s and 512 MiB** (one [`derive_key`]).
///
/// # Errors
/// [`CryptoError::Kdf`] only.
pub fn encrypt_link(
    passphrase: &str,
    salt: &[u8; SALT_LEN],
    nonce: &[u8; NONCE_LEN],
    ballot_voter: &str,
) -> Result<Vec<u8>, CryptoError> {
    let key = derive_key(passphrase.as_bytes(), salt)?;
    Ok(seal(&key, nonce, ballot_voter.as_bytes()))
}

/// Elekto's `decrypt(salt, passcode, target)`: derives the key from `passphrase` and the stored
/// salt, opens the stored blob and returns the ballot-voter uuid.
///
/// A salt that is not 16 bytes or a blob shorter than 40 bytes is rejected **before** the KDF
/// runs. (Legacy rows with NULL salt or blob must be handled by the caller.)
///
/// **Blocking, ~3–4 s and 512 MiB** (one [`derive_key`]) when the inputs are well-formed.
///
/// # Errors
/// [`CryptoError::Malformed`] for a bad salt or blob length or a non-UTF-8 plaintext,
/// [`CryptoError::WrongPassphrase`] if the box does not authenticate, [`CryptoError::Kdf`].
pub fn decrypt_link(passphrase: &str, salt: &[u8], blob: &[u8]) -> Result<String, CryptoError> {
    let salt: &[u8; SALT_LEN] = salt
        .try_into()
        .map_err(|_| Malformed::SaltLength { len: salt.len() })?;
    split_blob(blob)?;
    let key = derive_key(passphrase.as_bytes(), salt)?;
    open_link(&key, blob)
}

/// A fresh random salt for [`derive_key`] (`nacl.utils.random(SALTBYTES)` in Elekto).
#[must_use]
pub fn random_salt() -> [u8; SALT_LEN] {
    let mut salt = [0; SALT_LEN];
    rand::rng().fill_bytes(&mut salt);
    salt
}

/// A fresh random nonce for [`seal`] (what PyNaCl's `SecretBox.encrypt` draws by itself).
#[must_use]
pub fn random_nonce() -> [u8; NONCE_LEN] {
    let mut nonce = [0; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    nonce
}

/// A combined blob split into its parts.
struct Parts<'a> {
    nonce: &'a [u8; NONCE_LEN],
    tag: &'a [u8; TAG_LEN],
    ciphertext: &'a [u8],
}

/// Splits a combined blob into nonce, tag and ciphertext.
fn split_blob(blob: &[u8]) -> Result<Parts<'_>, Malformed> {
    let too_short = Malformed::BlobTooShort { len: blob.len() };
    let (nonce, rest) = blob.split_first_chunk::<NONCE_LEN>().ok_or(too_short)?;
    let (tag, ciphertext) = rest.split_first_chunk::<TAG_LEN>().ok_or(too_short)?;
    Ok(Parts {
        nonce,
        tag,
        ciphertext,
    })
}
