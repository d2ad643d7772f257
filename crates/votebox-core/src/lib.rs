//! Pure election logic for votebox: no I/O, no web or database types.
//!
//! * [`meta`]: the meta repository's files (election.yaml, voters.yaml, candidate files,
//!   Markdown) parsed into an immutable [`meta::Catalog`].
//! * [`count`]: counting methods (Schulze exactly as Elekto, and more).
//! * [`crypto`]: the Elekto-compatible voter→ballot link (argon2i + secretbox).

pub mod count;
pub mod crypto;
pub mod meta;
