//! Checklist 8 (sync: clone if missing, then pull) and 21 (webhook → pull) against real local git
//! repositories: a bare "remote" in a temp dir, fed from a work tree holding the Elekto test meta.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use tempfile::TempDir;
use votebox_core::meta::{CatalogEntry, MetaFiles};
use votebox_meta::{GitError, MetaRepo, Snapshot};

const FIXTURE: &str = "/work/shared/fixtures/meta/elekto-io+elekto.meta.test/elections";
const FIXTURE_KEYS: [&str; 3] = ["2021---GB", "2021---TOC", "name_the_app"];

/// Runs `git -C dir args…` for test setup (isolated from the user's git config) and returns stdout.
fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=Votebox Test",
            "-c",
            "user.email=test@votebox.invalid",
        ])
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "protocol.file.allow=always",
        ])
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .expect("run git");
    assert!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Every file of the fixture, keyed as `<prefix>/<relative path>`.
fn fixture_files(prefix: &str) -> MetaFiles {
    fn walk(dir: &Path, key: &str, out: &mut MetaFiles) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let key = format!("{key}/{}", entry.file_name().to_str().unwrap());
            if entry.file_type().unwrap().is_dir() {
                walk(&entry.path(), &key, out);
            } else {
                out.insert(key, std::fs::read(entry.path()).unwrap());
            }
        }
    }
    let mut out = MetaFiles::new();
    walk(Path::new(FIXTURE), prefix, &mut out);
    out
}

/// A bare remote at `<tmp>/remote.git` and the work tree `<tmp>/work` that pushes to it.
struct Remote {
    tmp: TempDir,
    bare: PathBuf,
    work: PathBuf,
}

impl Remote {
    /// The Elekto test meta under `elections/`, plus a file outside it, pushed to `main`.
    fn new() -> Self {
        Self::with_election_dir("elections")
    }

    fn with_election_dir(dir: &str) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let bare = tmp.path().join("remote.git");
        let work = tmp.path().join("work");
        git(
            tmp.path(),
            &[
                "init",
                "--quiet",
                "--bare",
                "-b",
                "main",
                "--",
                bare.to_str().unwrap(),
            ],
        );
        git(
            tmp.path(),
            &[
                "init",
                "--quiet",
                "-b",
                "main",
                "--",
                work.to_str().unwrap(),
            ],
        );
        copy_dir(Path::new(FIXTURE), &work.join(dir));
        std::fs::write(work.join("README.md"), "# meta\n").unwrap();
        let remote = Remote { tmp, bare, work };
        remote.commit("initial meta");
        remote.push(false);
        remote
    }

    fn commit(&self, message: &str) -> String {
        git(&self.work, &["add", "--all"]);
        git(
            &self.work,
            &["commit", "--quiet", "--allow-empty", "-m", message],
        );
        git(&self.work, &["rev-parse", "HEAD"])
    }

    fn push(&self, force: bool) {
        let bare = self.bare.to_str().unwrap();
        if force {
            git(
                &self.work,
                &["push", "--quiet", "--force", "--", bare, "main"],
            );
        } else {
            git(&self.work, &["push", "--quiet", "--", bare, "main"]);
        }
    }

    fn head(&self) -> String {
        git(&self.bare, &["rev-parse", "refs/heads/main"])
    }

    fn file_url(&self) -> String {
        format!("file://{}", self.bare.display())
    }

    /// A not-yet-existing path for the local mirror.
    fn mirror_path(&self) -> PathBuf {
        self.tmp.path().join("mirror")
    }

    fn repo(&self, remote: &str) -> MetaRepo {
        MetaRepo::new(remote, self.mirror_path(), "main", "elections")
    }
}

fn keys(snapshot: &Snapshot) -> BTreeSet<String> {
    snapshot
        .catalog
        .entries
        .iter()
        .map(|entry| match entry {
            CatalogEntry::Ok(election) => election.key.clone(),
            CatalogEntry::Broken(broken) => broken.key.clone(),
        })
        .collect()
}

fn fixture_keys() -> BTreeSet<String> {
    FIXTURE_KEYS.iter().map(|k| k.to_string()).collect()
}

fn assert_fixture_catalog(snapshot: &Snapshot) {
    assert_eq!(keys(snapshot), fixture_keys());
    for entry in &snapshot.catalog.entries {
        assert!(
            matches!(entry, CatalogEntry::Ok(_)),
            "fixture election is broken: {entry:?}"
        );
    }
}

#[tokio::test]
async fn checklist_8_sync_file_url_creates_bare_mirror() {
    let remote = Remote::new();
    let repo = remote.repo(&remote.file_url());
    assert!(!repo.path.exists());

    let snapshot = repo.load().await.unwrap();
    assert_eq!(snapshot.commit, remote.head());
    assert_fixture_catalog(&snapshot);

    // A bare mirror: no work tree, no checkout, only the private ref.
    assert!(repo.path.join("HEAD").is_file());
    assert!(!repo.path.join(".git").exists());
    assert!(!repo.path.join("elections").exists());
    assert_eq!(
        git(&repo.path, &["rev-parse", "refs/votebox/meta/main"]),
        remote.head()
    );
    assert_eq!(repo.local_ref(), "refs/votebox/meta/main");
}

#[tokio::test]
async fn checklist_8_sync_plain_path_remote() {
    let remote = Remote::new();
    let repo = remote.repo(remote.bare.to_str().unwrap());
    let commit = repo.fetch().await.unwrap();
    assert_eq!(commit, remote.head());
    let snapshot = repo.load().await.unwrap();
    assert_eq!(snapshot.commit, commit);
    assert_fixture_catalog(&snapshot);
}

#[tokio::test]
async fn checklist_8_sync_reads_exactly_the_election_dir_files() {
    let remote = Remote::new();
    // Things that must not be read: a symlink, a submodule, a sibling directory with a common
    // prefix, files outside ELECTION_DIR.
    std::os::unix::fs::symlink(
        "election.yaml",
        remote.work.join("elections/2021/TOC/link.yaml"),
    )
    .unwrap();
    copy_dir(
        &remote.work.join("elections/2021"),
        &remote.work.join("elections2/2021"),
    );
    std::fs::write(remote.work.join("other.yaml"), "x: 1\n").unwrap();
    git(&remote.work, &["add", "--all"]);
    let submodule = format!("160000,{},elections/sub", remote.head());
    git(
        &remote.work,
        &["update-index", "--add", "--cacheinfo", &submodule],
    );
    let commit = remote.commit("noise");
    remote.push(false);

    let repo = remote.repo(&remote.file_url());
    assert_eq!(repo.fetch().await.unwrap(), commit);
    let files = repo.read_files(&commit).await.unwrap();
    assert_eq!(files, fixture_files("elections"));
    assert_fixture_catalog(&repo.load().await.unwrap());
}

#[tokio::test]
async fn checklist_8_sync_nested_election_dir() {
    let remote = Remote::with_election_dir("events/elections");
    let repo = MetaRepo::new(
        remote.file_url(),
        remote.mirror_path(),
        "main",
        "./events/elections/",
    );
    let snapshot = repo.load().await.unwrap();
    assert_fixture_catalog(&snapshot);
    let files = repo.read_files(&snapshot.commit).await.unwrap();
    assert_eq!(files, fixture_files("events/elections"));
}

#[tokio::test]
async fn checklist_8_sync_new_commits_and_force_push() {
    let remote = Remote::new();
    let repo = remote.repo(&remote.file_url());
    let first = repo.load().await.unwrap();
    assert_fixture_catalog(&first);

    // An ordinary commit: one election removed.
    std::fs::remove_dir_all(remote.work.join("elections/name_the_app")).unwrap();
    let second_commit = remote.commit("drop name_the_app");
    remote.push(false);
    let second = repo.load().await.unwrap();
    assert_eq!(second.commit, second_commit);
    assert_eq!(
        keys(&second),
        BTreeSet::from(["2021---GB".to_owned(), "2021---TOC".to_owned()])
    );

    // History rewritten and force-pushed: back to the first commit, then a different change.
    // Elekto's `pull --ff-only` fails here; votebox follows the remote.
    git(&remote.work, &["reset", "--quiet", "--hard", &first.commit]);
    copy_dir(
        &remote.work.join("elections/2021/TOC"),
        &remote.work.join("elections/2022/TOC"),
    );
    let rewritten = remote.commit("add 2022 TOC instead");
    remote.push(true);
    let output = Command::new("git")
        .arg("-C")
        .arg(&remote.bare)
        .args(["merge-base", "--is-ancestor", &second_commit, &rewritten])
        .status()
        .unwrap();
    assert!(
        !output.success(),
        "the rewrite must not contain the second commit"
    );

    let third = repo.load().await.unwrap();
    assert_eq!(third.commit, rewritten);
    let mut expected = fixture_keys();
    expected.insert("2022---TOC".to_owned());
    assert_eq!(keys(&third), expected);
    assert_eq!(repo.load_local().await.unwrap().commit, rewritten);
}

#[tokio::test]
async fn checklist_8_sync_remote_gone_keeps_last_good_snapshot() {
    let remote = Remote::new();
    let repo = remote.repo(&remote.file_url());
    let good = repo.load().await.unwrap();

    std::fs::rename(&remote.bare, remote.tmp.path().join("moved.git")).unwrap();
    let err = repo.load().await.unwrap_err();
    assert!(
        matches!(&err, GitError::Command { command, stderr } if command == "fetch" && !stderr.is_empty()),
        "{err:?}"
    );
    assert!(repo.fetch().await.is_err());

    let local = repo.load_local().await.unwrap();
    assert_eq!(local.commit, good.commit);
    assert_fixture_catalog(&local);

    // After a restart (a new MetaRepo on the same path), still there.
    let restarted = remote.repo(&remote.file_url());
    assert_eq!(restarted.load_local().await.unwrap().commit, good.commit);
}

#[tokio::test]
async fn checklist_8_sync_garbage_remote_is_a_clear_error() {
    let remote = Remote::new();
    let repo = remote.repo("this is not a git remote");
    let err = repo.load().await.unwrap_err();
    let GitError::Command { command, stderr } = &err else {
        panic!("expected a git command error, got {err:?}");
    };
    assert_eq!(command, "fetch");
    assert!(stderr.contains("this is not a git remote"), "{stderr}");
    assert!(err.to_string().starts_with("git fetch failed: "), "{err}");

    // Nothing was fetched, so there is nothing to fall back to.
    assert!(matches!(
        repo.load_local().await,
        Err(GitError::NothingFetched(_))
    ));

    // Remote-helper syntax that would run a command is refused by git's default protocol policy.
    let marker = remote.tmp.path().join("ran");
    let repo = remote.repo(&format!("ext::touch {}", marker.display()));
    let err = repo.fetch().await.unwrap_err();
    assert!(matches!(err, GitError::Command { .. }), "{err:?}");
    assert!(!marker.exists());
}

#[tokio::test]
async fn checklist_8_sync_missing_branch_is_a_clear_error() {
    let remote = Remote::new();
    let repo = MetaRepo::new(
        remote.file_url(),
        remote.mirror_path(),
        "no-such-branch",
        "elections",
    );
    let err = repo.fetch().await.unwrap_err();
    assert!(err.to_string().contains("no-such-branch"), "{err}");
    assert!(matches!(err, GitError::Command { .. }), "{err:?}");
}

#[tokio::test]
async fn checklist_8_sync_invalid_settings_are_refused_before_running_git() {
    let remote = Remote::new();
    for branch in ["", "-main", "main:evil", "a..b", "main branch"] {
        let repo = MetaRepo::new(remote.file_url(), remote.mirror_path(), branch, "elections");
        assert!(
            matches!(repo.fetch().await, Err(GitError::Config(_))),
            "{branch:?}"
        );
    }
    let repo = MetaRepo::new("", remote.mirror_path(), "main", "elections");
    assert!(matches!(repo.fetch().await, Err(GitError::Config(_))));
    assert!(!remote.mirror_path().exists());

    let repo = remote.repo(&remote.file_url());
    repo.fetch().await.unwrap();
    for commit in ["", "--output=/tmp/x", "HEAD HEAD"] {
        assert!(
            matches!(repo.read_files(commit).await, Err(GitError::Config(_))),
            "{commit:?}"
        );
    }
    assert!(matches!(
        repo.read_files("0123456789abcdef0123456789abcdef01234567")
            .await,
        Err(GitError::Command { .. })
    ));
}

#[tokio::test]
async fn checklist_8_sync_reuses_existing_elekto_clone() {
    let remote = Remote::new();
    let path = remote.mirror_path();
    // What Elekto's `console --sync` leaves behind.
    git(
        remote.tmp.path(),
        &[
            "clone",
            "--quiet",
            "-b",
            "main",
            "--",
            remote.bare.to_str().unwrap(),
            path.to_str().unwrap(),
        ],
    );
    let elekto_head = git(&path, &["rev-parse", "HEAD"]);
    let repo = MetaRepo::new(remote.file_url(), &path, "main", "elections");

    // Before any fetch, load_local serves what Elekto had checked out.
    let local = repo.load_local().await.unwrap();
    assert_eq!(local.commit, elekto_head);
    assert_fixture_catalog(&local);

    // A new commit upstream: fetched into the clone's object store, work tree untouched.
    std::fs::remove_dir_all(remote.work.join("elections/2021/GB")).unwrap();
    let new_commit = remote.commit("drop GB");
    remote.push(false);
    let snapshot = repo.load().await.unwrap();
    assert_eq!(snapshot.commit, new_commit);
    assert_eq!(
        keys(&snapshot),
        BTreeSet::from(["2021---TOC".to_owned(), "name_the_app".to_owned()])
    );

    assert_eq!(git(&path, &["rev-parse", "HEAD"]), elekto_head);
    assert_eq!(git(&path, &["rev-parse", "refs/heads/main"]), elekto_head);
    assert_eq!(git(&path, &["status", "--porcelain"]), "");
    assert!(path.join("elections/2021/GB/election.yaml").is_file());
    assert!(!path.join(".git/FETCH_HEAD").exists());
    assert_eq!(
        git(&path, &["rev-parse", "refs/votebox/meta/main"]),
        new_commit
    );

    // From now on load_local uses the fetched ref, not the stale checkout.
    assert_eq!(repo.load_local().await.unwrap().commit, new_commit);
}

#[tokio::test]
async fn checklist_8_sync_empty_dir_becomes_mirror_but_foreign_dir_is_refused() {
    let remote = Remote::new();
    let path = remote.mirror_path();
    std::fs::create_dir(&path).unwrap();
    let repo = remote.repo(&remote.file_url());
    assert!(matches!(
        repo.load_local().await,
        Err(GitError::NothingFetched(_))
    ));
    assert_eq!(repo.fetch().await.unwrap(), remote.head());
    assert!(path.join("HEAD").is_file());

    let foreign = remote.tmp.path().join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("keep.txt"), "mine").unwrap();
    let repo = MetaRepo::new(remote.file_url(), &foreign, "main", "elections");
    assert!(matches!(repo.fetch().await, Err(GitError::Config(_))));
    assert_eq!(std::fs::read_dir(&foreign).unwrap().count(), 1);

    let file = remote.tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let repo = MetaRepo::new(remote.file_url(), &file, "main", "elections");
    assert!(matches!(repo.fetch().await, Err(GitError::Config(_))));
}

#[tokio::test]
async fn checklist_8_sync_load_local_without_mirror() {
    let remote = Remote::new();
    let repo = remote.repo(&remote.file_url());
    assert!(matches!(
        repo.load_local().await,
        Err(GitError::NothingFetched(_))
    ));
    assert!(matches!(
        repo.read_files("HEAD").await,
        Err(GitError::NothingFetched(_))
    ));
    assert!(!repo.path.exists());
}

#[tokio::test]
async fn checklist_8_sync_size_limits() {
    let remote = Remote::new();
    let largest = fixture_files("elections")
        .into_iter()
        .max_by_key(|(_, bytes)| bytes.len())
        .unwrap();
    let repo = remote.repo(&remote.file_url());
    let commit = repo.fetch().await.unwrap();

    let small_files = repo
        .clone()
        .with_size_limits(largest.1.len() as u64 - 1, 1 << 30);
    match small_files.read_files(&commit).await {
        Err(GitError::FileTooLarge { path, .. }) => assert_eq!(path, largest.0),
        other => panic!("expected FileTooLarge, got {other:?}"),
    }
    let small_total = repo.clone().with_size_limits(1 << 20, 1000);
    let err = small_total.read_files(&commit).await.unwrap_err();
    assert!(
        matches!(err, GitError::TooLarge { limit: 1000, .. }),
        "{err:?}"
    );
    assert!(small_total.load().await.is_err());

    // At the limit exactly is fine.
    let exact = repo
        .clone()
        .with_size_limits(largest.1.len() as u64, 1 << 30);
    assert_eq!(
        exact.read_files(&commit).await.unwrap().len(),
        fixture_files("elections").len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn checklist_21_webhook_concurrent_syncs_are_serialised() {
    let remote = Remote::new();
    let repo = remote.repo(&remote.file_url());
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let repo = repo.clone();
            tokio::spawn(async move { repo.load().await })
        })
        .collect();
    for task in tasks {
        let snapshot = task.await.unwrap().unwrap();
        assert_eq!(snapshot.commit, remote.head());
        assert_fixture_catalog(&snapshot);
    }
}

/// A TCP "server" on loopback that accepts connections and never answers. Returns its port.
fn silent_server() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    port
}

/// Processes whose command line contains `needle`.
fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(needle) {
                found.push(cmdline);
            }
        }
    }
    found
}

#[tokio::test]
async fn checklist_8_sync_hanging_remote_times_out() {
    let port = silent_server();
    let remote = Remote::new();
    let repo = remote
        .repo(&format!("git://127.0.0.1:{port}/meta.git"))
        .with_timeout(Duration::from_secs(1));
    let started = Instant::now();
    let err = repo.fetch().await.unwrap_err();
    assert!(
        matches!(&err, GitError::Timeout { command, seconds: 1 } if command == "fetch"),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(err.to_string(), "git fetch timed out after 1 s");
}

#[tokio::test]
async fn checklist_8_sync_timeout_kills_transport_helpers() {
    // Over http git runs `git remote-http`, a child of its own; the timeout must end it too.
    let port = silent_server();
    let remote = Remote::new();
    let tag = format!("votebox-hang-{}-{port}", std::process::id());
    let url = format!("http://127.0.0.1:{port}/{tag}.git");
    let repo = remote.repo(&url).with_timeout(Duration::from_secs(1));
    let err = repo.fetch().await.unwrap_err();
    assert!(
        matches!(&err, GitError::Timeout { command, .. } if command == "fetch"),
        "{err:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = processes_mentioning(&tag);
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "git processes survived the timeout: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn checklist_8_sync_errors_do_not_leak_remote_credentials() {
    let remote = Remote::new();
    // Port 1 on loopback: connection refused at once.
    let repo = remote.repo("https://votebox-bot:s3cr3t-t0ken@127.0.0.1:1/meta.git");
    let err = repo.fetch().await.unwrap_err();
    assert!(matches!(err, GitError::Command { .. }), "{err:?}");
    assert!(!err.to_string().contains("s3cr3t-t0ken"), "{err}");
    let err = repo.load_local().await.unwrap_err();
    assert!(!err.to_string().contains("s3cr3t-t0ken"), "{err}");
}
