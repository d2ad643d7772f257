//! Pure election logic for votebox: no I/O, no web or database types.
//!
//! * [`audit`]: the hash-chained audit log of an election (format, verification).
//! * [`ballot`]: what a valid ballot is: a submitted ballot form checked against its election.
//! * [`meta`]: the meta repository's files (election.yaml, voters.yaml, candidate files,
//!   Markdown) parsed into an immutable [`meta::Catalog`].
//! * [`count`]: counting methods (Schulze exactly as Elekto, and more).
//! * [`crypto`]: the Elekto-compatible voter→ballot link (argon2i + secretbox).
//! * [`schema1_link`]: schema-1 (Elekto 0.5) ballots: the Werkzeug hash that links voter and ballot.
//! * [`results`]: stored ballot rows → counts, Elekto's ballot CSV and a `results.md` draft.
//! * [`verify`]: receipts, the ballot board and the checks of `votebox verify`.

pub mod audit;
pub mod ballot;
pub mod count;
pub mod crypto;
pub mod meta;
pub mod results;
pub mod schema1_link;
pub mod verify;
