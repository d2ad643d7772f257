//! The meta repository, parsed. Input is a map of file paths (relative to the repository root,
//! `/`-separated) to bytes, as read from one git commit; output is a [`Catalog`].
//!
//! Rules follow Elekto (see `shared/design/elekto-reference.md` §3), with its crashes turned into
//! per-election errors: a broken election never hides the others.

mod model;
pub use model::*;

mod candidate;
mod election;
mod markdown;
mod voters;
mod yaml;

#[cfg(test)]
mod corpus_tests;

pub use markdown::render_markdown;

use std::collections::BTreeMap;

/// All files of one commit of the meta repository: path (e.g. `elections/2021/TOC/election.yaml`) → bytes.
pub type MetaFiles = BTreeMap<String, Vec<u8>>;

/// Discovers and parses every election under `election_dir` (Elekto's `ELECTION_DIR`).
pub fn load_catalog(files: &MetaFiles, election_dir: &str) -> Catalog {
    election::load_catalog(files, election_dir)
}
