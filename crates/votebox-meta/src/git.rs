//! Fetching and reading the meta repository with the `git` CLI (stack.md §1.6).
//!
//! * Network: `git fetch` with an explicit, forced refspec into a private ref
//!   (`refs/votebox/meta/<branch>`), so force-pushes to the meta repository are picked up, which
//!   Elekto's `pull --ff-only` cannot do (reference §3.8).
//! * Reading: `git ls-tree` + one `git cat-file --batch` at the fetched commit. There is no work
//!   tree and no checkout, so a bad commit never half-replaces what is being served.
//! * The mirror at `META_PATH` is a bare repository that votebox creates, or an Elekto clone (a work
//!   tree with `.git`) that is reused as is: only its object store and the private ref change,
//!   never its work tree, index or branches, so Elekto can still be switched back to.
//!
//! Every `git` run gets an explicit argv (never a shell), `--` before URLs and paths, no stdin,
//! `GIT_TERMINAL_PROMPT=0` and no askpass helper (it never waits for a password), a timeout
//! after which it is killed, and its stderr in the error.

use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;
use tokio::sync::Mutex;

use votebox_core::meta::{Catalog, MetaFiles};

/// How long one `git` command may run before it is killed.
pub const DEFAULT_GIT_TIMEOUT: Duration = Duration::from_secs(120);
/// Largest single file read from the meta repository.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 5 * 1024 * 1024;
/// Largest total of all files read under `ELECTION_DIR` at one commit.
pub const DEFAULT_MAX_TOTAL_BYTES: u64 = 64 * 1024 * 1024;
/// Namespace of the refs votebox fetches into (`refs/votebox/meta/<branch>`).
pub const REF_PREFIX: &str = "refs/votebox/meta/";

/// Environment variables that would redirect `git` to another repository, index or object store
/// (set, for example, when votebox's own tests run inside a git hook). Every command drops them.
const REPO_ENV: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_CEILING_DIRECTORIES",
    "GIT_PREFIX",
];
/// A `git` command in votebox's one git environment: none of [`REPO_ENV`] (so it works on the
/// directory it is given, also when run from a git hook), never a prompt (`GIT_TERMINAL_PROMPT=0`,
/// no askpass helper) and English messages. Every git votebox runs (the meta mirror, the demo's
/// sample repository) starts here.
pub fn git_command() -> Command {
    let mut cmd = Command::new("git");
    for var in REPO_ENV {
        cmd.env_remove(var);
    }
    cmd.env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("GIT_ASKPASS")
        .env_remove("SSH_ASKPASS")
        // English messages in errors and logs.
        .env("LC_ALL", "C");
    cmd
}

/// Stderr kept in an error, at most.
const MAX_STDERR: usize = 4096;

/// Where the meta repository comes from and where its local mirror lives.
///
/// Clones share one lock: fetches through the same `MetaRepo` (or its clones) run one at a time.
/// `Debug` hides credentials in `remote`.
#[derive(Clone)]
pub struct MetaRepo {
    /// `META_REPO`: any URL or path `git` understands.
    pub remote: String,
    /// `META_PATH`: local mirror (a bare repo, or an existing Elekto clone with a work tree).
    pub path: PathBuf,
    /// `META_BRANCH`.
    pub branch: String,
    /// `ELECTION_DIR`.
    pub election_dir: String,
    timeout: Duration,
    max_file_bytes: u64,
    max_total_bytes: u64,
    lock: Arc<Mutex<()>>,
}

impl std::fmt::Debug for MetaRepo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetaRepo")
            .field("remote", &redact(&self.remote, &self.remote))
            .field("path", &self.path)
            .field("branch", &self.branch)
            .field("election_dir", &self.election_dir)
            .field("timeout", &self.timeout)
            .field("max_file_bytes", &self.max_file_bytes)
            .field("max_total_bytes", &self.max_total_bytes)
            .finish_non_exhaustive()
    }
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
    /// `META_REPO`, `META_PATH`, `META_BRANCH` or a commit argument cannot be used.
    #[error("meta repository configuration: {0}")]
    Config(String),
    /// One file under `ELECTION_DIR` is bigger than the per-file limit.
    #[error("meta file {path} is {size} bytes, over the limit of {limit} bytes per file")]
    FileTooLarge { path: String, size: u64, limit: u64 },
    /// The files under `ELECTION_DIR` together are bigger than the total limit.
    #[error(
        "the meta files under {election_dir:?} add up to {size} bytes, over the limit of {limit} bytes"
    )]
    TooLarge {
        election_dir: String,
        size: u64,
        limit: u64,
    },
}

/// What is at `META_PATH`.
enum Layout {
    /// Nothing, or an empty directory: votebox creates a bare mirror there.
    Absent,
    /// A bare repository (votebox's mirror).
    Bare(PathBuf),
    /// An Elekto clone: a work tree whose git directory is the given `.git`.
    Clone(PathBuf),
}

impl MetaRepo {
    /// A repository with the default timeout and size limits.
    pub fn new(
        remote: impl Into<String>,
        path: impl Into<PathBuf>,
        branch: impl Into<String>,
        election_dir: impl Into<String>,
    ) -> Self {
        MetaRepo {
            remote: remote.into(),
            path: path.into(),
            branch: branch.into(),
            election_dir: election_dir.into(),
            timeout: DEFAULT_GIT_TIMEOUT,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            max_total_bytes: DEFAULT_MAX_TOTAL_BYTES,
            lock: Arc::new(Mutex::new(())),
        }
    }

    /// Sets how long one `git` command may run (default [`DEFAULT_GIT_TIMEOUT`]).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the per-file and total size limits for [`read_files`](Self::read_files).
    pub fn with_size_limits(mut self, max_file_bytes: u64, max_total_bytes: u64) -> Self {
        self.max_file_bytes = max_file_bytes;
        self.max_total_bytes = max_total_bytes;
        self
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The private ref the branch is fetched into: `refs/votebox/meta/<branch>`.
    pub fn local_ref(&self) -> String {
        format!("{REF_PREFIX}{}", self.branch)
    }

    /// Clones (if the mirror is missing) or fetches the branch, force-updating the local ref so
    /// force-pushes work. Returns the fetched commit id.
    pub async fn fetch(&self) -> Result<String, GitError> {
        let _guard = self.lock.lock().await;
        self.fetch_locked().await
    }

    /// Every file under `election_dir` at `commit`, paths relative to the repository root.
    ///
    /// Symlinks and submodules are skipped (Elekto does not follow symlinks when it walks), as
    /// are paths that are not UTF-8. More than the per-file or total size limit is an error.
    pub async fn read_files(&self, commit: &str) -> Result<MetaFiles, GitError> {
        if commit.is_empty()
            || commit.starts_with('-')
            || commit.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(GitError::Config(format!("not a commit: {commit:?}")));
        }
        let git_dir = self.existing_git_dir()?;
        let election_dir = normalize_dir(&self.election_dir);

        let mut args: Vec<&OsStr> = [
            "--literal-pathspecs",
            "ls-tree",
            "-r",
            "-l",
            "-z",
            "--full-tree",
            commit,
            "--",
        ]
        .map(OsStr::new)
        .to_vec();
        if !election_dir.is_empty() {
            args.push(OsStr::new(&election_dir));
        }
        let listing = self.git(Some(&git_dir), "ls-tree", &args).await?;
        let entries = parse_ls_tree(&listing, &election_dir)?;

        let mut total = 0u64;
        for entry in &entries {
            if entry.size > self.max_file_bytes {
                return Err(GitError::FileTooLarge {
                    path: entry.path.clone(),
                    size: entry.size,
                    limit: self.max_file_bytes,
                });
            }
            total += entry.size;
        }
        if total > self.max_total_bytes {
            return Err(GitError::TooLarge {
                election_dir,
                size: total,
                limit: self.max_total_bytes,
            });
        }
        if entries.is_empty() {
            tracing::warn!(
                commit,
                election_dir,
                "no files under ELECTION_DIR in the meta repository"
            );
            return Ok(MetaFiles::new());
        }

        let blobs = self.cat_blobs(&git_dir, &entries).await?;
        Ok(entries.into_iter().map(|e| e.path).zip(blobs).collect())
    }

    /// Fetch, read and parse.
    pub async fn load(&self) -> Result<Snapshot, GitError> {
        let (commit, files) = self.fetch_files().await?;
        Ok(self.parse(commit, files).await)
    }

    /// Fetch, then read the files under `ELECTION_DIR` at the fetched commit (not parsed: the
    /// caller may also hand them to other instances, see [`crate::archive`]).
    pub async fn fetch_files(&self) -> Result<(String, MetaFiles), GitError> {
        // Held for the whole read, so concurrent loads finish in the order they fetched.
        let _guard = self.lock.lock().await;
        let commit = self.fetch_locked().await?;
        let files = self.read_files(&commit).await?;
        Ok((commit, files))
    }

    /// What identifies this meta source among the instances sharing a database: SHA-256 (hex) of
    /// `META_REPO`, `META_BRANCH` and `ELECTION_DIR`. Instances configured alike share it.
    pub fn source_id(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for part in [
            self.remote.as_str(),
            self.branch.as_str(),
            &normalize_dir(&self.election_dir),
        ] {
            h.update(part.as_bytes());
            h.update([0u8]);
        }
        hex::encode(h.finalize())
    }

    /// The snapshot of `commit` from an archive of its files (see [`crate::archive`]), under the
    /// same size limits as a read from git.
    pub async fn parse_archive(
        &self,
        commit: String,
        archive: Vec<u8>,
    ) -> Result<Snapshot, crate::archive::ArchiveError> {
        let (max_file, max_total) = (self.max_file_bytes, self.max_total_bytes);
        let files = tokio::task::spawn_blocking(move || {
            crate::archive::unpack(&archive, max_file, max_total)
        })
        .await
        .unwrap_or_else(|err| std::panic::resume_unwind(err.into_panic()))?;
        Ok(self.parse(commit, files).await)
    }

    /// The last fetched commit, parsed, without touching the network (start-up when the remote is down).
    ///
    /// That is `refs/votebox/meta/<branch>`; in an Elekto clone that votebox has not fetched into
    /// yet, the checked-out `HEAD` (what Elekto was serving).
    pub async fn load_local(&self) -> Result<Snapshot, GitError> {
        let (git_dir, is_clone) = match self.layout()? {
            Layout::Absent => return Err(self.nothing_fetched()),
            Layout::Bare(dir) => (dir, false),
            Layout::Clone(dir) => (dir, true),
        };
        let commit = match self.resolve_commit(&git_dir, &self.local_ref()).await? {
            Some(commit) => commit,
            None if is_clone => self
                .resolve_commit(&git_dir, "HEAD")
                .await?
                .ok_or_else(|| self.nothing_fetched())?,
            None => return Err(self.nothing_fetched()),
        };
        self.snapshot(commit).await
    }

    async fn snapshot(&self, commit: String) -> Result<Snapshot, GitError> {
        let files = self.read_files(&commit).await?;
        Ok(self.parse(commit, files).await)
    }

    /// Parses the files of `commit` (read with [`read_files`](Self::read_files)) into a snapshot.
    pub async fn parse(&self, commit: String, files: MetaFiles) -> Snapshot {
        let election_dir = normalize_dir(&self.election_dir);
        // Parsing YAML and rendering Markdown for every election is CPU work: keep it off the
        // async workers.
        let catalog = tokio::task::spawn_blocking(move || {
            votebox_core::meta::load_catalog(&files, &election_dir)
        })
        .await
        .unwrap_or_else(|err| std::panic::resume_unwind(err.into_panic()));
        tracing::info!(
            commit,
            elections = catalog.entries.len(),
            "meta repository loaded"
        );
        Snapshot {
            commit,
            catalog,
            loaded_at: SystemTime::now(),
        }
    }

    async fn fetch_locked(&self) -> Result<String, GitError> {
        self.check_config()?;
        let git_dir = match self.layout()? {
            Layout::Bare(dir) | Layout::Clone(dir) => dir,
            Layout::Absent => {
                let args = [
                    OsStr::new("init"),
                    OsStr::new("--bare"),
                    OsStr::new("--quiet"),
                    OsStr::new("--"),
                    self.path.as_os_str(),
                ];
                self.git(None, "init", &args).await?;
                tracing::info!(path = %self.path.display(), "created bare meta mirror");
                self.path.clone()
            }
        };
        let local_ref = self.local_ref();
        let refspec = format!("+refs/heads/{}:{local_ref}", self.branch);
        let args = [
            "fetch",
            "--quiet",
            "--no-tags",
            "--force",
            "--no-write-fetch-head",
            "--recurse-submodules=no",
            "--",
            &self.remote,
            &refspec,
        ]
        .map(OsStr::new);
        self.git(Some(&git_dir), "fetch", &args).await?;
        let commit = self
            .resolve_commit(&git_dir, &local_ref)
            .await?
            .ok_or_else(|| GitError::Command {
                command: "fetch".into(),
                stderr: format!(
                    "{local_ref} is missing after fetching refs/heads/{}",
                    self.branch
                ),
            })?;
        tracing::debug!(commit, branch = self.branch, "fetched meta repository");
        Ok(commit)
    }

    /// `rev-parse` of `rev` to a commit id; `None` when it does not exist.
    async fn resolve_commit(&self, git_dir: &Path, rev: &str) -> Result<Option<String>, GitError> {
        let spec = format!("{rev}^{{commit}}");
        let args = ["rev-parse", "--verify", "--quiet", &spec].map(OsStr::new);
        let output = self.git_output(Some(git_dir), "rev-parse", &args).await?;
        if output.status.success() {
            let id = String::from_utf8_lossy(&output.stdout).trim().to_owned();
            return Ok(Some(id));
        }
        // `--verify --quiet` exits 1 without a message when the ref does not exist.
        if output.status.code() == Some(1) && output.stderr.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        Err(self.command_failed("rev-parse", &output.stderr))
    }

    /// The git directory of an existing mirror or clone.
    fn existing_git_dir(&self) -> Result<PathBuf, GitError> {
        match self.layout()? {
            Layout::Bare(dir) | Layout::Clone(dir) => Ok(dir),
            Layout::Absent => Err(self.nothing_fetched()),
        }
    }

    fn layout(&self) -> Result<Layout, GitError> {
        let path = &self.path;
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Layout::Absent),
            Err(err) => {
                return Err(GitError::Config(format!(
                    "META_PATH {}: {err}",
                    path.display()
                )));
            }
        };
        if !meta.is_dir() {
            return Err(GitError::Config(format!(
                "META_PATH {} exists and is not a directory",
                path.display()
            )));
        }
        let dot_git = path.join(".git");
        if dot_git.exists() {
            // A file here is a gitfile (`gitdir: …`); git follows it when given as --git-dir.
            return Ok(Layout::Clone(dot_git));
        }
        if path.join("HEAD").is_file()
            && path.join("objects").is_dir()
            && path.join("refs").is_dir()
        {
            return Ok(Layout::Bare(path.clone()));
        }
        let empty = std::fs::read_dir(path)
            .map_err(|err| GitError::Config(format!("META_PATH {}: {err}", path.display())))?
            .next()
            .is_none();
        if empty {
            return Ok(Layout::Absent);
        }
        Err(GitError::Config(format!(
            "META_PATH {} is a directory that is neither a git repository nor empty",
            path.display()
        )))
    }

    fn check_config(&self) -> Result<(), GitError> {
        if self.remote.trim().is_empty() {
            return Err(GitError::Config("META_REPO is not set".into()));
        }
        if let Some(problem) = branch_problem(&self.branch) {
            return Err(GitError::Config(format!(
                "META_BRANCH {:?} {problem}",
                self.branch
            )));
        }
        Ok(())
    }

    /// Reads `entries` (all blobs) in one `git cat-file --batch`, in order.
    async fn cat_blobs(
        &self,
        git_dir: &Path,
        entries: &[TreeEntry],
    ) -> Result<Vec<Vec<u8>>, GitError> {
        let mut cmd = self.command(Some(git_dir));
        cmd.args(["cat-file", "--batch", "--buffer"])
            .stdin(Stdio::piped());
        let mut child = cmd.spawn()?;
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut stderr = child.stderr.take().expect("stderr is piped");

        let mut request = Vec::with_capacity(entries.len() * 41);
        for entry in entries {
            request.extend_from_slice(entry.oid.as_bytes());
            request.push(b'\n');
        }
        let write = async move {
            stdin.write_all(&request).await?;
            stdin.shutdown().await
        };
        let read = read_batch(BufReader::new(stdout), entries);
        let mut errors = Vec::new();
        let drain = stderr.read_to_end(&mut errors);

        let pid = child.id();
        let interact = async {
            let (written, blobs, drained) = tokio::join!(
                async {
                    // A broken pipe means git exited early; its exit status and stderr say why.
                    write.await.or_else(|err| {
                        if err.kind() == io::ErrorKind::BrokenPipe {
                            Ok(())
                        } else {
                            Err(err)
                        }
                    })
                },
                async {
                    let blobs = read.await;
                    if blobs.is_err() {
                        // Stop git so the writer and the stderr reader finish.
                        let _ = child.start_kill();
                    }
                    blobs
                },
                drain,
            );
            let status = child.wait().await;
            (written, blobs, drained, status)
        };
        let Ok((written, blobs, drained, status)) =
            tokio::time::timeout(self.timeout, interact).await
        else {
            kill_process_group(pid);
            return Err(self.timed_out("cat-file"));
        };
        let status = status?;
        drained?;
        match blobs {
            Ok(blobs) if status.success() => {
                written?;
                Ok(blobs)
            }
            Ok(_) => Err(self.command_failed("cat-file", &errors)),
            Err(err) => {
                let mut message = match err {
                    CatFileError::Io(err) => err.to_string(),
                    CatFileError::Git(message) => message,
                };
                let stderr = String::from_utf8_lossy(&errors);
                if !stderr.trim().is_empty() {
                    message = format!("{message}: {}", stderr.trim());
                }
                Err(self.command_failed("cat-file", message.as_bytes()))
            }
        }
    }

    fn command(&self, git_dir: Option<&Path>) -> Command {
        let mut cmd = git_command();
        if let Some(dir) = git_dir {
            cmd.arg("--git-dir").arg(dir);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // Its own process group, so a timeout kills its helpers too; and never the terminal's
        // foreground group, so an ssh or credential prompt cannot wait on a tty.
        #[cfg(unix)]
        cmd.process_group(0);
        cmd
    }

    /// Runs git to completion (or the timeout) and returns its output, whatever the exit status.
    async fn git_output(
        &self,
        git_dir: Option<&Path>,
        label: &str,
        args: &[&OsStr],
    ) -> Result<Output, GitError> {
        let mut cmd = self.command(git_dir);
        cmd.args(args);
        let child = cmd.spawn()?;
        let pid = child.id();
        let wait = child.wait_with_output();
        tokio::pin!(wait);
        match tokio::time::timeout(self.timeout, &mut wait).await {
            Ok(output) => Ok(output?),
            Err(_) => {
                // Kill git and its helpers (git-remote-https, ssh) while the child is not yet
                // reaped, so the group id cannot have been reused.
                kill_process_group(pid);
                Err(self.timed_out(label))
            }
        }
    }

    /// Runs git and returns its stdout; a non-zero exit is an error carrying stderr.
    async fn git(
        &self,
        git_dir: Option<&Path>,
        label: &str,
        args: &[&OsStr],
    ) -> Result<Vec<u8>, GitError> {
        let output = self.git_output(git_dir, label, args).await?;
        if output.status.success() {
            Ok(output.stdout)
        } else {
            let mut stderr = output.stderr;
            if stderr.iter().all(u8::is_ascii_whitespace) {
                stderr = format!("exited with {}", output.status).into_bytes();
            }
            Err(self.command_failed(label, &stderr))
        }
    }

    fn command_failed(&self, label: &str, stderr: &[u8]) -> GitError {
        let mut text = String::from_utf8_lossy(stderr).trim().to_owned();
        if text.len() > MAX_STDERR {
            let mut end = MAX_STDERR;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
            text.push_str(" …");
        }
        GitError::Command {
            command: label.to_owned(),
            stderr: redact(&self.remote, &text),
        }
    }

    fn timed_out(&self, label: &str) -> GitError {
        GitError::Timeout {
            command: label.to_owned(),
            seconds: self.timeout.as_secs(),
        }
    }

    fn nothing_fetched(&self) -> GitError {
        GitError::NothingFetched(redact(&self.remote, &self.remote))
    }
}

/// SIGKILL to the process group led by `pid` (a git started with `process_group(0)`).
#[cfg(unix)]
fn kill_process_group(pid: Option<u32>) {
    let Some(pid) = pid.and_then(|pid| libc::pid_t::try_from(pid).ok()) else {
        return;
    };
    // SAFETY: kill(2) takes plain integers and touches no memory. The group leader is our
    // un-reaped child, so the group id still names its process group.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
}

#[cfg(not(unix))]
fn kill_process_group(_pid: Option<u32>) {}

/// One blob listed by `ls-tree`.
#[derive(Debug)]
struct TreeEntry {
    path: String,
    oid: String,
    size: u64,
}

/// Parses `git ls-tree -r -l -z` output: `<mode> <type> <oid> <size>\t<path>\0`. Keeps regular
/// files (modes 100644 and 100755) under `election_dir`.
fn parse_ls_tree(listing: &[u8], election_dir: &str) -> Result<Vec<TreeEntry>, GitError> {
    let bad = |record: &[u8]| GitError::Command {
        command: "ls-tree".into(),
        stderr: format!("unexpected output: {:?}", String::from_utf8_lossy(record)),
    };
    let mut entries = Vec::new();
    for record in listing.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        let tab = record
            .iter()
            .position(|&b| b == b'\t')
            .ok_or_else(|| bad(record))?;
        let header = std::str::from_utf8(&record[..tab]).map_err(|_| bad(record))?;
        let mut fields = header.split_ascii_whitespace();
        let (Some(mode), Some(kind), Some(oid), Some(size), None) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            return Err(bad(record));
        };
        if kind != "blob" || !matches!(mode, "100644" | "100755") {
            // Symlinks (120000), submodules (160000 commit).
            continue;
        }
        let Ok(path) = std::str::from_utf8(&record[tab + 1..]) else {
            tracing::warn!(path = %String::from_utf8_lossy(&record[tab + 1..]), "skipping meta file whose name is not UTF-8");
            continue;
        };
        let inside = election_dir.is_empty()
            || path
                .strip_prefix(election_dir)
                .is_some_and(|rest| rest.starts_with('/'));
        if !inside {
            continue;
        }
        if oid.is_empty() || !oid.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad(record));
        }
        let size = size.parse().map_err(|_| bad(record))?;
        entries.push(TreeEntry {
            path: path.to_owned(),
            oid: oid.to_owned(),
            size,
        });
    }
    Ok(entries)
}

enum CatFileError {
    Io(io::Error),
    Git(String),
}

impl From<io::Error> for CatFileError {
    fn from(err: io::Error) -> Self {
        CatFileError::Io(err)
    }
}

/// Reads `<oid> <type> <size>\n<content>\n` for each entry, in order.
async fn read_batch<R: tokio::io::AsyncBufRead + Unpin>(
    mut out: R,
    entries: &[TreeEntry],
) -> Result<Vec<Vec<u8>>, CatFileError> {
    let mut blobs = Vec::with_capacity(entries.len());
    let mut line = Vec::new();
    for entry in entries {
        line.clear();
        if out.read_until(b'\n', &mut line).await? == 0 {
            return Err(CatFileError::Git(format!(
                "output ended before {}",
                entry.path
            )));
        }
        let header = String::from_utf8_lossy(&line);
        let header = header.trim_end();
        let mut fields = header.split(' ');
        let (Some(oid), Some(kind), Some(size), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(CatFileError::Git(format!(
                "{} ({}): {header}",
                entry.path, entry.oid
            )));
        };
        let size: u64 = size
            .parse()
            .map_err(|_| CatFileError::Git(format!("bad header for {}: {header}", entry.path)))?;
        if oid != entry.oid || kind != "blob" || size != entry.size {
            return Err(CatFileError::Git(format!(
                "unexpected object for {}: {header}",
                entry.path
            )));
        }
        let mut blob = vec![0; size as usize];
        out.read_exact(&mut blob).await?;
        let mut newline = [0u8];
        out.read_exact(&mut newline).await?;
        if newline != *b"\n" {
            return Err(CatFileError::Git(format!(
                "missing separator after {}",
                entry.path
            )));
        }
        blobs.push(blob);
    }
    Ok(blobs)
}

/// `ELECTION_DIR` as a repository path: no `./` or `/` at the start, no `/` at the end; `""` for
/// the whole repository.
fn normalize_dir(dir: &str) -> String {
    let parts: Vec<&str> = dir
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    parts.join("/")
}

/// Why `branch` cannot be used in a refspec (`git check-ref-format` rules), if it cannot.
fn branch_problem(branch: &str) -> Option<&'static str> {
    if branch.is_empty() {
        return Some("is empty");
    }
    if branch.starts_with('-')
        || branch.starts_with('/')
        || branch.ends_with('/')
        || branch.ends_with('.')
    {
        return Some("cannot start with '-' or '/', or end with '/' or '.'");
    }
    if branch.chars().any(|c| {
        c.is_whitespace() || c.is_control() || matches!(c, ':' | '*' | '?' | '[' | '\\' | '^' | '~')
    }) {
        return Some("contains a character not allowed in a branch name");
    }
    if branch.contains("..") || branch.contains("@{") || branch.contains("//") || branch == "@" {
        return Some("is not a valid branch name");
    }
    if branch
        .split('/')
        .any(|part| part.starts_with('.') || part.ends_with(".lock"))
    {
        return Some("is not a valid branch name");
    }
    None
}

/// The remote as it may be shown: the credentials of `https://user:token@host/…` hidden.
pub fn redact_remote(remote: &str) -> String {
    redact(remote, remote)
}

/// Hides the credentials of an `https://user:token@host/…` remote in `text`.
fn redact(remote: &str, text: &str) -> String {
    let Some((scheme, rest)) = remote.split_once("://") else {
        return text.to_owned();
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let Some((userinfo, _host)) = authority.rsplit_once('@') else {
        return text.to_owned();
    };
    let http = scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
    // Plain `ssh://git@host` user names are not secrets (and "git" is everywhere in messages).
    if userinfo.is_empty() || !(http || userinfo.contains(':')) {
        return text.to_owned();
    }
    text.replace(userinfo, "***")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_election_dir() {
        assert_eq!(normalize_dir("elections"), "elections");
        assert_eq!(normalize_dir("./events/elections/"), "events/elections");
        assert_eq!(normalize_dir("/elections"), "elections");
        assert_eq!(normalize_dir("."), "");
        assert_eq!(normalize_dir(""), "");
    }

    #[test]
    fn checks_branch_names() {
        for ok in ["main", "master", "release/2024", "gh-pages", "v1.0"] {
            assert_eq!(branch_problem(ok), None, "{ok}");
        }
        for bad in [
            "", "-x", "a:b", "a b", "a..b", "*", "a/", "a.lock", "x@{1}", ".hidden", "a/.b",
        ] {
            assert!(branch_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn redacted_remotes_hide_only_credentials() {
        assert_eq!(
            redact_remote("https://user:tok@github.com/o/r.git"),
            "https://***@github.com/o/r.git"
        );
        for shown in [
            "https://github.com/o/r.git",
            "git@github.com:o/r.git",
            "ssh://git@github.com/o/r.git",
            "/srv/meta.git",
        ] {
            assert_eq!(redact_remote(shown), shown);
        }
    }

    #[test]
    fn redacts_http_credentials() {
        let remote = "https://bot:ghp_secret@github.com/org/meta.git";
        let text = "fatal: unable to access 'https://bot:ghp_secret@github.com/org/meta.git/'";
        assert!(!redact(remote, text).contains("ghp_secret"));
        let token_only = "https://ghp_secret@github.com/org/meta.git";
        assert!(!redact(token_only, "x ghp_secret@github.com").contains("ghp_secret"));
        assert_eq!(
            redact("ssh://git@github.com/org/meta.git", "git fetch failed"),
            "git fetch failed"
        );
        assert_eq!(
            redact("git@github.com:org/meta.git", "git@github.com"),
            "git@github.com"
        );
    }

    #[test]
    fn parses_ls_tree_and_skips_links_and_submodules() {
        let out = b"100644 blob 587be6b4c3f93f93c489c0111bba5596147a26cb       2\telections/a/f\0\
120000 blob 4d1ae35ba2c8ec712fa2a379db44ad639ca277bd       1\telections/a/link\0\
160000 commit 4d1ae35ba2c8ec712fa2a379db44ad639ca277bd       -\telections/sub\0\
100755 blob 587be6b4c3f93f93c489c0111bba5596147a26cb      12\telections/a/tab\tname\0\
100644 blob 587be6b4c3f93f93c489c0111bba5596147a26cb       2\telections2/g\0";
        let entries = parse_ls_tree(out, "elections").unwrap();
        let paths: Vec<_> = entries.iter().map(|e| (e.path.as_str(), e.size)).collect();
        assert_eq!(paths, [("elections/a/f", 2), ("elections/a/tab\tname", 12)]);
    }
}
