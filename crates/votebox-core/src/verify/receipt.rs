//! Receipt codes: what a voter copies after casting, to find their ballot on the board.
//!
//! A receipt is computed, never stored: `SHA-256("votebox-receipt-v1" || 0x00 || election key
//! || 0x00 || ballot-voter uuid)`, the first [`RECEIPT_BITS`] bits written as
//! [`DATA_CHARS`] characters of Crockford base32, followed by one check character (Luhn mod 32
//! over the same alphabet), shown in four groups of five: `7K3MQ-9XD2W-AFH8R-TC4NB`.
//!
//! * **Inputs that already exist.** The ballot-voter uuid (`ballot.voter`, 122 random bits,
//!   shared by a ballot's rows) and the election key (its directory): Elekto's tables do not
//!   change, and whoever holds the ballot rows can recompute every receipt (which is how the
//!   board is made). The hash is not keyed on purpose: a receipt must not change when
//!   `APP_KEY` is rotated, and it is public on the board anyway.
//! * **Domain separation.** The `votebox-receipt-v1` prefix and the 0x00 separators keep a
//!   receipt from ever equalling another hash votebox computes over the same uuid (the export
//!   order of the CSV, for one) and make `(key, uuid)` pairs unambiguous.
//! * **Size.** 95 bits: two ballots of one election share a receipt with probability below
//!   n²/2⁹⁶ (≈ 10⁻¹⁷ for a million ballots), and a guess hits one of n receipts with probability
//!   n/2⁹⁵.
//! * **Check character.** Luhn mod N with N = 32 (every character stays in the alphabet, no
//!   `*~$=U` of Crockford's mod-37 symbols to type or to quote in a shell): it catches every
//!   single-character mistake and every swap of two neighbouring characters except `0Z` ↔ `Z0`.
//! * **Reading.** Case, spaces and hyphens are ignored, and `O`, `I`, `L` read as `0`, `1`, `1`,
//!   as Crockford's alphabet says.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// Crockford's base32 alphabet: digits and letters without I, L, O, U.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters of hash in a receipt (before the check character).
pub const DATA_CHARS: usize = 19;
/// Bits of hash in a receipt.
pub const RECEIPT_BITS: usize = DATA_CHARS * 5;
/// Characters in a receipt, check character included (hyphens excluded).
pub const RECEIPT_CHARS: usize = DATA_CHARS + 1;
/// Characters per displayed group.
const GROUP: usize = 5;
const DOMAIN: &[u8] = b"votebox-receipt-v1";

/// A receipt code: [`RECEIPT_CHARS`] characters of Crockford base32, the last one a check
/// character. Ordered as its text (the board is sorted by it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Receipt([u8; RECEIPT_CHARS]);

/// Why a typed receipt is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    #[error("`{0}` is not a receipt character (receipts use 0-9 and A-Z without I, L, O, U)")]
    BadCharacter(char),
    #[error("a receipt has {RECEIPT_CHARS} characters, this one has {0}")]
    Length(usize),
    #[error("the receipt's check character does not match: a character is mistyped")]
    Check,
}

impl Receipt {
    /// The receipt of the ballot with ballot-voter uuid `ballot_voter` in election `election_key`.
    pub fn of(election_key: &str, ballot_voter: &str) -> Receipt {
        let digest = Sha256::new()
            .chain_update(DOMAIN)
            .chain_update([0u8])
            .chain_update(election_key.as_bytes())
            .chain_update([0u8])
            .chain_update(ballot_voter.as_bytes())
            .finalize();
        let mut bits = u128::from_be_bytes(digest[..16].try_into().expect("16 bytes"));
        bits >>= 128 - RECEIPT_BITS;
        let mut values = [0u8; RECEIPT_CHARS];
        for (i, v) in values[..DATA_CHARS].iter_mut().enumerate() {
            *v = ((bits >> (5 * (DATA_CHARS - 1 - i))) & 31) as u8;
        }
        values[DATA_CHARS] = luhn_check(&values[..DATA_CHARS]);
        Receipt(values.map(|v| ALPHABET[usize::from(v)]))
    }

    /// The code without hyphens, e.g. `7K3MQ9XD2WAFH8RTC4NB`.
    pub fn compact(&self) -> &str {
        std::str::from_utf8(&self.0).expect("alphabet characters are ASCII")
    }
}

impl fmt::Display for Receipt {
    /// Four groups of five, joined by hyphens.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, group) in self.compact().as_bytes().chunks(GROUP).enumerate() {
            if i > 0 {
                f.write_str("-")?;
            }
            f.write_str(std::str::from_utf8(group).expect("ASCII"))?;
        }
        Ok(())
    }
}

impl FromStr for Receipt {
    type Err = ReceiptError;

    /// Reads a receipt as a person may type it (see the module docs).
    fn from_str(s: &str) -> Result<Receipt, ReceiptError> {
        let mut values = Vec::with_capacity(RECEIPT_CHARS);
        for c in s.chars() {
            if c == '-' || c.is_whitespace() {
                continue;
            }
            values.push(value_of(c).ok_or(ReceiptError::BadCharacter(c))?);
        }
        let values: [u8; RECEIPT_CHARS] = values
            .try_into()
            .map_err(|v: Vec<u8>| ReceiptError::Length(v.len()))?;
        if luhn_check(&values[..DATA_CHARS]) != values[DATA_CHARS] {
            return Err(ReceiptError::Check);
        }
        Ok(Receipt(values.map(|v| ALPHABET[usize::from(v)])))
    }
}

/// The value (0..32) of a typed character, with Crockford's readings of `O`, `I` and `L`.
fn value_of(c: char) -> Option<u8> {
    let c = match c.to_ascii_uppercase() {
        'O' => '0',
        'I' | 'L' => '1',
        c => c,
    };
    ALPHABET
        .iter()
        .position(|&a| char::from(a) == c)
        .map(|p| p as u8)
}

/// Luhn mod 32: the check value that makes the weighted sum of `values` and it a multiple of 32
/// (from the right, the check value weighs 1, the last data value 2, the one before 1, …).
fn luhn_check(values: &[u8]) -> u8 {
    const N: u32 = 32;
    let mut sum = 0u32;
    for (i, &v) in values.iter().rev().enumerate() {
        let weighted = u32::from(v) * if i % 2 == 0 { 2 } else { 1 };
        sum += weighted / N + weighted % N;
    }
    ((N - sum % N) % N) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    const UUID: &str = "6f1c9a52-3b7e-4d0a-9a1e-2c4b8d7e9f10";

    #[test]
    fn a_receipt_is_four_groups_of_five_and_reads_back() {
        let r = Receipt::of("2021---TOC", UUID);
        let shown = r.to_string();
        assert_eq!(shown.len(), 23);
        assert_eq!(shown.split('-').map(str::len).collect::<Vec<_>>(), [5; 4]);
        assert_eq!(shown.replace('-', ""), r.compact());
        assert_eq!(shown.parse::<Receipt>(), Ok(r.clone()));
        // As a person may type it: lower case, spaces, O for 0, l for 1.
        let typed = format!(" {} ", r.compact().to_ascii_lowercase())
            .replace('0', "o")
            .replace('1', "l");
        assert_eq!(typed.parse::<Receipt>(), Ok(r));
    }

    #[test]
    fn it_depends_on_the_election_and_the_ballot_only() {
        let r = Receipt::of("e", UUID);
        assert_eq!(r, Receipt::of("e", UUID));
        assert_ne!(r, Receipt::of("f", UUID));
        assert_ne!(r, Receipt::of("e", "6f1c9a52-3b7e-4d0a-9a1e-2c4b8d7e9f11"));
        // The separator keeps (key, uuid) pairs apart.
        assert_ne!(Receipt::of("ab", "c"), Receipt::of("a", "bc"));
    }

    #[test]
    fn known_value_pins_the_derivation() {
        // SHA-256("votebox-receipt-v1\0e\0u"), computed again by an independent Python script:
        // if this changes, every published receipt breaks.
        let digest = Sha256::digest(b"votebox-receipt-v1\0e\0u");
        let bits = u128::from_be_bytes(digest[..16].try_into().unwrap()) >> 33;
        let first = ALPHABET[(bits >> 90) as usize & 31];
        assert_eq!(Receipt::of("e", "u").compact().as_bytes()[0], first);
        assert_eq!(Receipt::of("e", "u").to_string(), "0R1F4-A32AP-WEX00-3QGHC");
    }

    #[test]
    fn every_single_mistake_and_neighbour_swap_is_caught() {
        let r = Receipt::of("e", UUID);
        let code: Vec<u8> = r.compact().bytes().collect();
        for i in 0..RECEIPT_CHARS {
            for &a in ALPHABET {
                if a == code[i] {
                    continue;
                }
                let mut typo = code.clone();
                typo[i] = a;
                let typo = String::from_utf8(typo).unwrap();
                assert_eq!(typo.parse::<Receipt>(), Err(ReceiptError::Check), "{typo}");
            }
        }
        for i in 0..RECEIPT_CHARS - 1 {
            let mut swapped = code.clone();
            swapped.swap(i, i + 1);
            let pair = (code[i], code[i + 1]);
            if pair.0 == pair.1 || matches!(pair, (b'0', b'Z') | (b'Z', b'0')) {
                continue;
            }
            let swapped = String::from_utf8(swapped).unwrap();
            assert_eq!(swapped.parse::<Receipt>(), Err(ReceiptError::Check));
        }
    }

    #[test]
    fn luhn_catches_every_neighbour_swap_but_0z() {
        for a in 0..32u8 {
            for b in 0..32u8 {
                if a == b {
                    continue;
                }
                let caught = luhn_check(&[a, b]) != luhn_check(&[b, a]);
                assert_eq!(caught, !matches!((a, b), (0, 31) | (31, 0)), "{a} {b}");
            }
        }
    }

    #[test]
    fn bad_input_says_what_is_wrong() {
        assert_eq!(
            "ABCDE-FGHJK".parse::<Receipt>(),
            Err(ReceiptError::Length(10))
        );
        assert_eq!(
            "ABCDE-FGHJK-MNPQR-STVWU".parse::<Receipt>(),
            Err(ReceiptError::BadCharacter('U'))
        );
        assert_eq!("".parse::<Receipt>(), Err(ReceiptError::Length(0)));
    }

    #[test]
    fn ten_thousand_ballots_get_ten_thousand_receipts() {
        let receipts: HashSet<Receipt> = (0..10_000)
            .map(|i| Receipt::of("e", &format!("uuid-{i}")))
            .collect();
        assert_eq!(receipts.len(), 10_000);
    }
}
