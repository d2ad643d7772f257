use std::path::PathBuf;
use std::time::SystemTime;

use votebox_core::meta::{Catalog, MetaFiles};

/// Where the meta repository comes from and where its local mirror lives.
#[derive(Debug, Clone)]
pub struct MetaRepo {
    /// `META_REPO`: any URL or path `git` understands.
    pub remote: String,
    /// `META_PATH`: local mirror (a bare repo, or an existing Elekto clone with a work tree).
    pub path: PathBuf,
    /// `META_BRANCH`.
    pub branch: String,
    /// `ELECTION_DIR`.
    pub election_dir: String,
}

/// One parsed commit of the meta repository.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub commit: String,
    pub catalog: Catalog,
    pub loaded_at: SystemTime,
}

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("git {command} failed: {stderr}")]
    Command { command: String, stderr: String },
    #[error("git {command} timed out after {seconds} s")]
    Timeout { command: String, seconds: u64 },
    #[error("could not run git: {0}")]
    Spawn(#[from] std::io::Error),
    #[error("nothing fetched yet from {0}")]
    NothingFetched(String),
}

impl MetaRepo {
    /// Clones (if the mirror is missing) or fetches the branch, force-updating the local ref so
    /// force-pushes work. Returns the fetched commit id.
    pub async fn fetch(&self) -> Result<String, GitError> {
        todo!("meta helper")
    }

    /// Every file under `election_dir` at `commit`, paths relative to the repository root.
    pub async fn read_files(&self, commit: &str) -> Result<MetaFiles, GitError> {
        let _ = commit;
        todo!("meta helper")
    }

    /// Fetch, read and parse.
    pub async fn load(&self) -> Result<Snapshot, GitError> {
        todo!("meta helper")
    }

    /// The last fetched commit, parsed, without touching the network (start-up when the remote is down).
    pub async fn load_local(&self) -> Result<Snapshot, GitError> {
        todo!("meta helper")
    }
}
