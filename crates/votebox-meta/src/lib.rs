//! The meta repository: fetched with the `git` CLI (as Elekto does, so credentials, ssh keys and
//! proxies work as admins configured them), read at the fetched commit without a work tree, and
//! parsed into a [`Snapshot`]. Also the push webhook's `X-Hub-Signature-256` check.

pub mod archive;
mod git;
mod signature;

pub use git::{
    DEFAULT_GIT_TIMEOUT, DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_TOTAL_BYTES, GitError, MetaRepo,
    REF_PREFIX, Snapshot, git_command, redact_remote,
};
pub use signature::{SignatureError, signature_header, verify_signature};
