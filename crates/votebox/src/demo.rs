//! `votebox demo`: a bundled sample meta repository ("Demo Foundation", three elections), written
//! to the data folder as a real git repository whose dates are set relative to today, so one
//! election is always running, one upcoming and one completed.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use time::macros::format_description;
use time::{Date, Duration, PrimitiveDateTime, Time};

use crate::config::Env;

/// Election directory inside the demo repository.
pub const ELECTION_DIR: &str = "elections";
/// Branch of the demo repository.
pub const BRANCH: &str = "main";
/// Default demo port when neither `--port` nor `APP_PORT` is given.
pub const DEFAULT_PORT: u16 = 8080;
/// How often the demo re-reads its repository (seconds), so edits show up quickly.
pub const RESYNC_SECONDS: u64 = 30;

macro_rules! demo_file {
    ($path:literal) => {
        ($path, include_str!(concat!("../demo/meta/", $path)))
    };
}

/// Every file of the sample repository: (path, template). `{{…}}` placeholders are dates.
pub const FILES: &[(&str, &str)] = &[
    demo_file!("README.md"),
    demo_file!("elections/archive/mascot/candidate-bram.md"),
    demo_file!("elections/archive/mascot/candidate-hazel.md"),
    demo_file!("elections/archive/mascot/candidate-lumi.md"),
    demo_file!("elections/archive/mascot/candidate-otto.md"),
    demo_file!("elections/archive/mascot/election.yaml"),
    demo_file!("elections/archive/mascot/election_desc.md"),
    demo_file!("elections/archive/mascot/results.md"),
    demo_file!("elections/archive/mascot/voters.yaml"),
    demo_file!("elections/code-of-conduct/candidate-farah-haddad.md"),
    demo_file!("elections/code-of-conduct/candidate-gus-lindqvist.md"),
    demo_file!("elections/code-of-conduct/candidate-hana-sato.md"),
    demo_file!("elections/code-of-conduct/candidate-ivan-petrov.md"),
    demo_file!("elections/code-of-conduct/election.yaml"),
    demo_file!("elections/code-of-conduct/election_desc.md"),
    demo_file!("elections/code-of-conduct/voters.yaml"),
    demo_file!("elections/steering-committee/candidate-ada-quinn.md"),
    demo_file!("elections/steering-committee/candidate-benjamin-okafor.md"),
    demo_file!("elections/steering-committee/candidate-chen-wei.md"),
    demo_file!("elections/steering-committee/candidate-dana-kowalski.md"),
    demo_file!("elections/steering-committee/candidate-emeka-eze.md"),
    demo_file!("elections/steering-committee/election.yaml"),
    demo_file!("elections/steering-committee/election_desc.md"),
    demo_file!("elections/steering-committee/voters.yaml"),
];

/// The date placeholders for `today` (UTC): running = yesterday → in 14 days; upcoming = in 21 →
/// 35 days; completed = 60 → 46 days ago.
pub fn placeholders(today: Date) -> Vec<(&'static str, String)> {
    let fmt = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let at = |days: i64, h: u8, m: u8| {
        PrimitiveDateTime::new(today, Time::MIDNIGHT)
            .saturating_add(Duration::days(days))
            .replace_time(Time::from_hms(h, m, 0).unwrap_or(Time::MIDNIGHT))
            .format(fmt)
            .unwrap_or_default()
    };
    vec![
        ("{{RUNNING_START}}", at(-1, 0, 0)),
        ("{{RUNNING_END}}", at(14, 23, 59)),
        ("{{RUNNING_EXCEPTION_DUE}}", at(7, 23, 59)),
        ("{{UPCOMING_START}}", at(21, 0, 0)),
        ("{{UPCOMING_END}}", at(35, 23, 59)),
        ("{{UPCOMING_EXCEPTION_DUE}}", at(20, 23, 59)),
        ("{{COMPLETED_START}}", at(-60, 0, 0)),
        ("{{COMPLETED_END}}", at(-46, 23, 59)),
        ("{{COMPLETED_EXCEPTION_DUE}}", at(-53, 23, 59)),
    ]
}

/// The sample repository's files for `today`.
pub fn render(today: Date) -> Vec<(&'static str, String)> {
    let values = placeholders(today);
    FILES
        .iter()
        .map(|(path, template)| {
            let text = values
                .iter()
                .fold((*template).to_owned(), |t, (k, v)| t.replace(k, v));
            (*path, text)
        })
        .collect()
}

/// Where the demo keeps things, all under the data folder.
#[derive(Debug, Clone)]
pub struct DemoPaths {
    pub data_dir: PathBuf,
    /// The sample meta repository (a git work tree; `META_REPO`).
    pub source: PathBuf,
    /// votebox's mirror of it (`META_PATH`).
    pub mirror: PathBuf,
    /// SQLite database (`DB_PATH`).
    pub database: PathBuf,
}

impl DemoPaths {
    pub fn new(data_dir: &Path) -> std::io::Result<DemoPaths> {
        let data_dir = std::path::absolute(data_dir)?;
        Ok(DemoPaths {
            source: data_dir.join("meta-source"),
            mirror: data_dir.join("meta"),
            database: data_dir.join("votebox.db"),
            data_dir,
        })
    }

    /// The environment the demo runs with: only its own settings (so a deployment's `.env` or
    /// environment cannot point the demo at a real database).
    pub fn env(&self) -> Env {
        [
            ("APP_NAME", "votebox demo".to_owned()),
            ("DB_CONNECTION", "sqlite".to_owned()),
            ("DB_PATH", self.database.to_string_lossy().into_owned()),
            ("META_REPO", self.source.to_string_lossy().into_owned()),
            ("META_PATH", self.mirror.to_string_lossy().into_owned()),
            ("META_BRANCH", BRANCH.to_owned()),
            ("ELECTION_DIR", ELECTION_DIR.to_owned()),
            (
                "VOTEBOX_DATA_DIR",
                self.data_dir.to_string_lossy().into_owned(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }
}

/// Writes the sample repository for `today` and commits it (when anything changed).
pub async fn prepare(paths: &DemoPaths, today: Date) -> anyhow::Result<()> {
    std::fs::create_dir_all(&paths.source)
        .with_context(|| format!("cannot create {}", paths.source.display()))?;
    if !paths.source.join(".git").exists() {
        git(&paths.source, &["init", "-q"]).await?;
        git(
            &paths.source,
            &["symbolic-ref", "HEAD", &format!("refs/heads/{BRANCH}")],
        )
        .await?;
    }
    for (path, text) in render(today) {
        let target = paths.source.join(path);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(&target, text)
            .with_context(|| format!("cannot write {}", target.display()))?;
    }
    git(&paths.source, &["add", "-A"]).await?;
    let status = git(&paths.source, &["status", "--porcelain"]).await?;
    if !status.trim().is_empty() {
        let message = format!("votebox demo: sample elections, dates relative to {today}");
        git(&paths.source, &["commit", "-q", "-m", &message]).await?;
    }
    Ok(())
}

async fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let mut cmd = votebox_meta::git_command();
    cmd.args([
        "-c",
        "user.name=votebox demo",
        "-c",
        "user.email=demo@votebox.invalid",
        "-c",
        "commit.gpgsign=false",
        "-c",
        "core.hooksPath=/dev/null",
    ])
    .args(args)
    .current_dir(dir)
    .stdin(std::process::Stdio::null());
    let out = match cmd.output().await {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!(
                "the demo needs the `git` command, which is not installed (e.g. apt-get install git)"
            )
        }
        Err(e) => return Err(e).context("cannot run git"),
    };
    if !out.status.success() {
        bail!(
            "git {} in {} failed: {}",
            args.first().copied().unwrap_or_default(),
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};
    use votebox_core::meta::{MetaFiles, Status, load_catalog};

    fn catalog(today: Date) -> votebox_core::meta::Catalog {
        let files: MetaFiles = render(today)
            .into_iter()
            .map(|(p, t)| (p.to_owned(), t.into_bytes()))
            .collect();
        load_catalog(&files, ELECTION_DIR)
    }

    #[test]
    fn demo_templates_have_no_placeholder_left() {
        for (path, text) in render(date!(2030 - 01 - 15)) {
            assert!(!text.contains("{{"), "{path} still has a placeholder");
        }
    }

    #[test]
    fn demo_meta_parses_with_one_election_in_each_state() {
        let today = date!(2030 - 01 - 15);
        let now = datetime!(2030-01-15 12:00:00);
        let c = catalog(today);
        assert_eq!(
            c.broken().count(),
            0,
            "{:?}",
            c.broken().collect::<Vec<_>>()
        );
        let by_key = |k: &str| c.elections().find(|e| e.key == k).unwrap();
        let running = by_key("steering-committee");
        let upcoming = by_key("code-of-conduct");
        let completed = by_key("archive---mascot");
        assert_eq!(running.status(now), Status::Running);
        assert_eq!(upcoming.status(now), Status::Upcoming);
        assert_eq!(completed.status(now), Status::Completed);
        // At any time of the day, not just noon.
        assert_eq!(
            running.status(datetime!(2030-01-15 00:00:00)),
            Status::Running
        );
        assert_eq!(
            running.status(datetime!(2030-01-15 23:59:59)),
            Status::Running
        );
        assert!(completed.results_published(now));
        assert!(!running.results_published(now));
        assert!(
            running.exception_due > now,
            "mallory can still ask for an exception"
        );
        for e in [running, upcoming, completed] {
            assert_eq!(e.organization.as_deref(), Some("Demo Foundation"));
            assert!((4..=5).contains(&e.candidates.len()), "{}", e.key);
            assert!(e.description_html.is_some());
            for c in &e.candidates {
                assert!(!c.body_html.is_empty(), "{} has no bio", c.id);
                assert!(!c.info.is_empty());
            }
            for v in ["alice", "bob", "carol", "dave"] {
                assert!(e.is_eligible(v), "{v} in {}", e.key);
            }
            assert!(!e.is_eligible("olivia"));
            assert!(!e.is_eligible("mallory"));
            assert!(e.is_officer("olivia"));
            assert!(!e.is_officer("alice"));
        }
    }

    #[test]
    fn demo_env_points_only_at_the_data_folder() {
        let p = DemoPaths::new(Path::new("/tmp/vb-demo")).unwrap();
        let env = p.env();
        let cfg = crate::config::Config::from_env(&env).unwrap();
        let db = cfg.database().unwrap();
        assert_eq!(db.url, "sqlite:///tmp/vb-demo/votebox.db");
        let meta = cfg.meta().unwrap();
        assert_eq!(meta.repo, "/tmp/vb-demo/meta-source");
        assert_eq!(meta.path, PathBuf::from("/tmp/vb-demo/meta"));
        assert_eq!(cfg.data_dir, PathBuf::from("/tmp/vb-demo"));
    }
}
