//! Ballots cast under Elekto's schema 1 (before 0.6): the Werkzeug password hash that links a
//! voter to their ballot, checked the way Elekto 0.5 checked it. Pure: no I/O.
//!
//! In schema 1 every `ballot` row of one vote carries, in its `voter` column, the same
//! `werkzeug.security.generate_password_hash(username + '+' + passphrase)`, for example
//! `pbkdf2:sha256:260000$RFixPChVPyqfHXzO$2e11…6713`: method, iteration count, a random text salt
//! and the hex PBKDF2-HMAC digest. The `voter` row of (user, election) holds no link at all
//! (schema 2 added `salt` and `ballot_id`, which stay NULL on those rows). Elekto 0.5 found a
//! user's ballot by checking the hash of every ballot row of the election; Elekto 0.6+ (and its
//! PostgreSQL upgrade) left those voters with "Incorrect password". votebox checks the hashes
//! again ([`find_v1_ballot`]), so they can view and revoke with their passphrase as before.
//!
//! Nothing is stored or weakened: the hash is Elekto's own, a match needs the user's login *and*
//! passphrase, and the check is the same PBKDF2 that Werkzeug ran.
//!
//! # Format (Werkzeug 0.15 – 2.x, `check_password_hash`)
//!
//! `pbkdf2:<digest>:<iterations>$<salt>$<hex>`: the salt is used as its UTF-8 text (not decoded),
//! the password is UTF-8, the output length is the digest's size, `<hex>` is lowercase. Digests
//! `sha256` (Werkzeug's default since 0.15, what every Elekto release used) and `sha512`.
//! Anything else (no iteration count, `plain`, bare HMAC methods, scrypt) is not a
//! schema-1 Elekto ballot and never matches.
//!
//! # Cost
//!
//! One check is `iterations` HMAC rounds: about 50 ms at 260,000 on one core of this machine.
//! Finding a voter's ballot checks every distinct v1 hash of the election until one matches,
//! so it costs up to (number of v1 ballots) checks; [`find_v1_ballot`] spreads them over a few
//! threads. It is blocking: call it from `spawn_blocking`, behind the same limit as the KDF.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The digest of a Werkzeug `pbkdf2:` hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pbkdf2Digest {
    Sha256,
    Sha512,
}

impl Pbkdf2Digest {
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha256" => Some(Self::Sha256),
            "sha512" => Some(Self::Sha512),
            _ => None,
        }
    }

    /// Output size in bytes (Werkzeug's `dklen` default).
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }
}

/// Upper bound on the iteration count accepted from a stored hash (Werkzeug 2.x writes 260,000;
/// 3.x 600,000+). A larger number is treated as not a ballot hash rather than run for minutes.
pub const MAX_ITERATIONS: u32 = 5_000_000;

/// A parsed Werkzeug `pbkdf2:` password hash (borrowing the stored text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WerkzeugHash<'a> {
    pub digest: Pbkdf2Digest,
    pub iterations: u32,
    /// The salt text as stored (used as UTF-8 bytes, not decoded).
    pub salt: &'a str,
    /// The stored digest, decoded from hex.
    pub hash: Vec<u8>,
}

/// Parses `pbkdf2:<digest>:<iterations>$<salt>$<hex>`; `None` for anything else (including a
/// schema-2 ballot-voter uuid).
pub fn parse_werkzeug_hash(stored: &str) -> Option<WerkzeugHash<'_>> {
    let (method, rest) = stored.split_once('$')?;
    let (salt, hex_hash) = rest.split_once('$')?;
    let mut parts = method.strip_prefix("pbkdf2:")?.split(':');
    let digest = Pbkdf2Digest::from_name(parts.next()?)?;
    let iterations: u32 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || salt.is_empty() || iterations == 0 {
        return None;
    }
    if iterations > MAX_ITERATIONS {
        return None;
    }
    // Werkzeug writes `.hex()` (lowercase); compare_digest on the text would reject uppercase.
    if hex_hash.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let hash = hex::decode(hex_hash).ok()?;
    if hash.len() != digest.output_len() {
        return None;
    }
    Some(WerkzeugHash {
        digest,
        iterations,
        salt,
        hash,
    })
}

/// Whether `stored` looks like a schema-1 ballot link (a Werkzeug `pbkdf2:` hash) rather than a
/// schema-2 ballot-voter uuid. Cheap: no hashing.
pub fn is_v1_ballot_voter(stored: &str) -> bool {
    parse_werkzeug_hash(stored).is_some()
}

impl WerkzeugHash<'_> {
    /// Werkzeug's `check_password_hash(self, password)`. **Blocking** (`iterations` rounds).
    pub fn verify(&self, password: &str) -> bool {
        let mut out = [0u8; 64];
        let out = &mut out[..self.digest.output_len()];
        let (pw, salt, rounds) = (password.as_bytes(), self.salt.as_bytes(), self.iterations);
        // `pbkdf2_hmac_with_params` is compiled (optimised) inside the pbkdf2 crate; the generic
        // `pbkdf2_hmac::<D>` would be compiled here, 20 times slower in debug builds. It takes
        // at least `Params::MIN_ROUNDS` (1,000, Werkzeug's smallest default ever).
        match pbkdf2::Params::new_with_output_len(rounds, out.len()) {
            Ok(params) => {
                let algorithm = match self.digest {
                    Pbkdf2Digest::Sha256 => pbkdf2::Algorithm::Pbkdf2Sha256,
                    Pbkdf2Digest::Sha512 => pbkdf2::Algorithm::Pbkdf2Sha512,
                };
                pbkdf2::pbkdf2_hmac_with_params(pw, salt, algorithm, params, out);
            }
            Err(_) => match self.digest {
                Pbkdf2Digest::Sha256 => pbkdf2::pbkdf2_hmac::<sha2::Sha256>(pw, salt, rounds, out),
                Pbkdf2Digest::Sha512 => pbkdf2::pbkdf2_hmac::<sha2::Sha512>(pw, salt, rounds, out),
            },
        }
        constant_time_eq(out, &self.hash)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Werkzeug's `check_password_hash(stored, password)` for `pbkdf2:` hashes; `false` for any
/// other or malformed text. **Blocking**.
pub fn check_werkzeug_hash(stored: &str, password: &str) -> bool {
    parse_werkzeug_hash(stored).is_some_and(|h| h.verify(password))
}

/// The password Elekto 0.5 hashed into `ballot.voter`: `username + '+' + passphrase`.
pub fn v1_ballot_password(username: &str, passphrase: &str) -> String {
    format!("{username}+{passphrase}")
}

/// Whether `stored` (a `ballot.voter` value) is the schema-1 ballot of `username` cast with
/// `passphrase`. **Blocking** (one PBKDF2).
pub fn is_v1_ballot_of(stored: &str, username: &str, passphrase: &str) -> bool {
    check_werkzeug_hash(stored, &v1_ballot_password(username, passphrase))
}

/// Finds, among the distinct schema-1 `ballot.voter` hashes of one election, the one cast by
/// `username` with `passphrase`, as Elekto 0.5's view/revoke did. Returns that stored text (the
/// value to pass wherever a ballot-voter uuid goes: reading or deleting the ballot rows), or
/// `None` (Elekto's "Incorrect password").
///
/// Values that are not Werkzeug hashes are skipped without cost. Up to `max_threads` threads
/// (at least 1) share the checks and stop at the first match. **Blocking**: about 50 ms per
/// hash checked on one core.
pub fn find_v1_ballot<'h>(
    hashes: &'h [String],
    username: &str,
    passphrase: &str,
    max_threads: usize,
) -> Option<&'h str> {
    let parsed: Vec<(usize, WerkzeugHash<'_>)> = hashes
        .iter()
        .enumerate()
        .filter_map(|(i, h)| parse_werkzeug_hash(h).map(|p| (i, p)))
        .collect();
    if parsed.is_empty() {
        return None;
    }
    let password = v1_ballot_password(username, passphrase);
    let threads = max_threads.clamp(1, parsed.len());
    if threads == 1 {
        return parsed
            .iter()
            .find(|(_, h)| h.verify(&password))
            .map(|(i, _)| hashes[*i].as_str());
    }
    let next = AtomicUsize::new(0);
    let found = AtomicUsize::new(usize::MAX);
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                while !done.load(Ordering::Relaxed) {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some((i, h)) = parsed.get(k) else { break };
                    if h.verify(&password) {
                        found.store(*i, Ordering::Relaxed);
                        done.store(true, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let i = found.load(Ordering::Relaxed);
    (i != usize::MAX).then(|| hashes[i].as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    // From shared/fixtures/legacy-db (Werkzeug 2.0.2 via Elekto 0.5.1): dims, passphrase
    // "dims-early-ballot".
    const DIMS: &str = "pbkdf2:sha256:260000$RFixPChVPyqfHXzO$2e11ff091c80c7aa1164842bbbeebde3da10f058464c91d0a9bdddd1656e6713";

    #[test]
    fn parses_werkzeug_pbkdf2() {
        let h = parse_werkzeug_hash(DIMS).unwrap();
        assert_eq!(h.digest, Pbkdf2Digest::Sha256);
        assert_eq!(h.iterations, 260_000);
        assert_eq!(h.salt, "RFixPChVPyqfHXzO");
        assert_eq!(h.hash.len(), 32);
        assert!(is_v1_ballot_voter(DIMS));
    }

    #[test]
    fn rejects_other_text() {
        for s in [
            "cb958342-f2da-4e3d-88cc-353f45497067",
            "",
            "pbkdf2:sha256$salt$00",
            "pbkdf2:md5:1000$salt$00",
            "pbkdf2:sha256:0$salt$2e11ff091c80c7aa1164842bbbeebde3da10f058464c91d0a9bdddd1656e6713",
            "pbkdf2:sha256:1000$$2e11ff091c80c7aa1164842bbbeebde3da10f058464c91d0a9bdddd1656e6713",
            "pbkdf2:sha256:1000$s$2E11FF091C80C7AA1164842BBBEEBDE3DA10F058464C91D0A9BDDDD1656E6713",
            "pbkdf2:sha256:1000$s$2e11",
            "pbkdf2:sha256:99999999$s$2e11ff091c80c7aa1164842bbbeebde3da10f058464c91d0a9bdddd1656e6713",
            "plain$$secret",
            "sha256$salt$2e11ff091c80c7aa1164842bbbeebde3da10f058464c91d0a9bdddd1656e6713",
        ] {
            assert!(parse_werkzeug_hash(s).is_none(), "{s}");
            assert!(!check_werkzeug_hash(s, "x"), "{s}");
        }
    }

    /// The usual PBKDF2-HMAC-SHA256 vector ("password", "salt", 1 round), as a Werkzeug hash.
    #[test]
    fn known_pbkdf2_sha256_vector() {
        let stored =
            "pbkdf2:sha256:1$salt$120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b";
        assert!(check_werkzeug_hash(stored, "password"));
        assert!(!check_werkzeug_hash(stored, "passwore"));
    }

    #[test]
    fn python_hashlib_vectors_at_1000_rounds() {
        // hashlib.pbkdf2_hmac(name, b"password", b"salt", 1000).hex()
        assert!(check_werkzeug_hash(
            "pbkdf2:sha256:1000$salt$632c2812e46d4604102ba7618e9d6d7d2f8128f6266b4a03264d2a0460b7dcb3",
            "password"
        ));
        assert!(check_werkzeug_hash(
            "pbkdf2:sha512:1000$salt$afe6c5530785b6cc6b1c6453384731bd5ee432ee549fd42fb6695779ad8a1c5bf59de69c48f774efc4007d5298f9033c0241d5ab69305e7b64eceeb8d834cfec",
            "password"
        ));
    }

    #[test]
    fn elekto_0_5_ballot_of_dims() {
        assert!(is_v1_ballot_of(DIMS, "dims", "dims-early-ballot"));
        assert!(!is_v1_ballot_of(DIMS, "dims", "dims-early-ballot "));
        assert!(!is_v1_ballot_of(DIMS, "Dims", "dims-early-ballot"));
    }

    #[test]
    fn finds_among_many_with_threads() {
        let hashes = vec![
            "0b6f2c8e-8d3c-4a57-9f5e-1d2b3c4d5e6f".to_owned(),
            // 1-iteration hashes of other passwords keep the test fast.
            "pbkdf2:sha256:1$salt$120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"
                .to_owned(),
            DIMS.to_owned(),
        ];
        for threads in [1, 2, 8] {
            assert_eq!(
                find_v1_ballot(&hashes, "dims", "dims-early-ballot", threads),
                Some(DIMS)
            );
            assert_eq!(find_v1_ballot(&hashes, "dims", "wrong", threads), None);
        }
        assert_eq!(find_v1_ballot(&[], "dims", "x", 2), None);
    }
}
