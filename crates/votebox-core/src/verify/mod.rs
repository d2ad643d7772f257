//! Verifiable elections without weakening the secret ballot: receipts, the ballot board, and
//! the checks `votebox verify` runs on them. Pure: no I/O.
//!
//! * [`Receipt`]: the code a voter is shown after casting, a domain-separated hash of data that
//!   already exists (the election key and the ballot's random uuid); nothing stores it.
//! * [`Board`]: every counted ballot with its receipt and ranking, sorted by receipt; its
//!   canonical CSV, the SHA-256 of that CSV, the JSON form, and reading both back.
//! * [`BoardAccess`]: who may see the board (`election.yaml: ballot_board`).
//! * [`check_draft`]: a `results.md` draft checked against a recount of the board.

mod board;
mod draft;
mod receipt;

pub use board::{
    Board, BoardAccess, BoardEntry, BoardError, CSV_MAGIC, JSON_FORMAT, ReadableRanking,
};
pub use draft::{Difference, DraftClaims, check_draft, read_draft};
pub use receipt::{DATA_CHARS, RECEIPT_BITS, RECEIPT_CHARS, Receipt, ReceiptError};
