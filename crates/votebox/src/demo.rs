//! `votebox demo`: a bundled sample meta repository ("Demo Foundation", four elections), written
//! to the data folder as a real git repository whose dates are set relative to today, so one
//! election is always running, one upcoming and two completed. The completed ones get their
//! ballots ([`cast_sample_ballots`]) when the demo starts, cast the way votebox casts every
//! ballot, so their officer results, CSV and draft agree with their `results.md`.

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
    demo_file!("elections/archive/infra-team/candidate-ines-moreau.md"),
    demo_file!("elections/archive/infra-team/candidate-jonas-berg.md"),
    demo_file!("elections/archive/infra-team/candidate-kemal-aydin.md"),
    demo_file!("elections/archive/infra-team/candidate-lea-fischer.md"),
    demo_file!("elections/archive/infra-team/election.yaml"),
    demo_file!("elections/archive/infra-team/election_desc.md"),
    demo_file!("elections/archive/infra-team/results.md"),
    demo_file!("elections/archive/infra-team/voters.yaml"),
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
/// 35 days; completed = 60 → 46 days ago (mascot) and 40 → 26 days ago, closing at the end of
/// the day Anywhere on Earth (infra-team).
pub fn placeholders(today: Date) -> Vec<(&'static str, String)> {
    let fmt = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let at = |days: i64, h: u8, m: u8, s: u8| {
        PrimitiveDateTime::new(today, Time::MIDNIGHT)
            .saturating_add(Duration::days(days))
            .replace_time(Time::from_hms(h, m, s).unwrap_or(Time::MIDNIGHT))
            .format(fmt)
            .unwrap_or_default()
    };
    vec![
        ("{{RUNNING_START}}", at(-1, 0, 0, 0)),
        ("{{RUNNING_END}}", at(14, 23, 59, 0)),
        ("{{RUNNING_EXCEPTION_DUE}}", at(7, 23, 59, 0)),
        ("{{UPCOMING_START}}", at(21, 0, 0, 0)),
        ("{{UPCOMING_END}}", at(35, 23, 59, 0)),
        ("{{UPCOMING_EXCEPTION_DUE}}", at(20, 23, 59, 0)),
        ("{{COMPLETED_START}}", at(-60, 0, 0, 0)),
        ("{{COMPLETED_END}}", at(-46, 23, 59, 0)),
        ("{{COMPLETED_EXCEPTION_DUE}}", at(-53, 23, 59, 0)),
        ("{{INFRA_START}}", at(-40, 0, 0, 0)),
        ("{{INFRA_END}}", at(-26, 11, 59, 59)),
        ("{{INFRA_EXCEPTION_DUE}}", at(-41, 23, 59, 0)),
    ]
}

/// One sample ballot: (election key, voter, `(candidate ID, rank)` as the vote form sends them).
pub type SampleBallot = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// The ballots of the completed sample elections: (election key, voter, ranks by candidate ID).
/// Each election's `results.md` reports exactly what these ballots give (a test counts them).
/// No passphrase: demo users can see what a ballot without one looks like.
pub const SAMPLE_BALLOTS: &[SampleBallot] = &[
    (
        "archive---mascot",
        "alice",
        &[("otto", "1"), ("hazel", "2"), ("bram", "3"), ("lumi", "4")],
    ),
    (
        "archive---mascot",
        "bob",
        &[("otto", "1"), ("bram", "2"), ("hazel", "3"), ("lumi", "4")],
    ),
    (
        "archive---mascot",
        "carol",
        &[("hazel", "1"), ("otto", "2"), ("lumi", "3"), ("bram", "4")],
    ),
    (
        "archive---mascot",
        "dave",
        &[("otto", "1"), ("hazel", "2"), ("bram", "3"), ("lumi", "4")],
    ),
    (
        "archive---infra-team",
        "alice",
        &[
            ("ines-moreau", "1"),
            ("jonas-berg", "2"),
            ("kemal-aydin", "3"),
            ("lea-fischer", "4"),
        ],
    ),
    (
        "archive---infra-team",
        "bob",
        &[
            ("jonas-berg", "1"),
            ("ines-moreau", "2"),
            ("lea-fischer", "3"),
            ("kemal-aydin", "4"),
        ],
    ),
    // carol has no opinion about Lea; dave did not vote.
    (
        "archive---infra-team",
        "carol",
        &[
            ("ines-moreau", "1"),
            ("kemal-aydin", "2"),
            ("jonas-berg", "3"),
        ],
    ),
];

/// Casts [`SAMPLE_BALLOTS`] into the completed sample elections that have no ballots yet (the
/// first start, or a data folder from before they existed); returns how many were cast. Each
/// goes the way of a ballot cast without a passphrase on the vote form: the form is read and
/// checked by votebox-core's ballot rules, then recorded by `votebox_db::ballots::cast` (voter
/// row, one row per candidate, mixed by the secrecy timer). Only the check that voting is open
/// is skipped: these elections are over.
pub async fn cast_sample_ballots(
    db: &votebox_db::Db,
    catalog: &votebox_core::meta::Catalog,
) -> anyhow::Result<usize> {
    use votebox_core::ballot::BallotForm;
    use votebox_db::{ballots, elections, users, voters};

    let mut cast = 0;
    for key in ["archive---mascot", "archive---infra-team"] {
        let Some(election) = catalog.elections().find(|e| e.key == key) else {
            continue; // removed from the demo repository by the user
        };
        let Some(row) = elections::find_by_key(db, key).await? else {
            continue;
        };
        if voters::count(db, row.id).await? > 0 {
            continue;
        }
        for (_, login, ranks) in SAMPLE_BALLOTS.iter().filter(|(k, ..)| *k == key) {
            let fields = ranks
                .iter()
                .map(|(id, rank)| (format!("candidate@{id}"), (*rank).to_owned()))
                .chain([("password".to_owned(), String::new())]);
            let form = BallotForm::parse(election, fields)
                .map_err(|e| anyhow::anyhow!("sample ballot of {login} in {key}: {e:?}"))?;
            let ranking = form
                .validate(election, 0)
                .map_err(|p| anyhow::anyhow!("sample ballot of {login} in {key}: {p:?}"))?;
            let user = users::upsert_login(db, &users::LoginDetails::login(login)).await?;
            let ballot_voter = ballots::new_ballot_voter();
            let ballot = ballots::NewBallot {
                election_id: row.id,
                user_id: user.id,
                login,
                rows: ranking.rows(),
                ballot_voter: &ballot_voter,
                salt: &ballots::NO_PASSPHRASE_SALT,
                sealed_ballot_voter: &ballots::NO_PASSPHRASE_LINK,
            };
            if ballots::cast(db, &ballot).await? == ballots::CastOutcome::Cast {
                cast += 1;
            }
        }
    }
    Ok(cast)
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
        let infra = by_key("archive---infra-team");
        assert_eq!(infra.status(now), Status::Completed);
        assert!(infra.results_published(now));
        assert_eq!(infra.seats(), 2);
        // It closed at the end of a day Anywhere on Earth, written in UTC.
        assert!(votebox_core::meta::anywhere_on_earth_day(infra.end).is_some());
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
        for e in [running, upcoming, completed, infra] {
            assert_eq!(e.organization.as_deref(), Some("Demo Foundation"));
            assert!((4..=5).contains(&e.candidates.len()), "{}", e.key);
            assert!(e.description_html.is_some());
            for c in &e.candidates {
                // One sample candidate shows what an empty profile with a malformed `info`
                // looks like (Elekto #85).
                if c.id == "lea-fischer" {
                    assert!(c.body_html.trim().is_empty() && c.info_note.is_some());
                    continue;
                }
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

    /// Issue 13 item 1: the sample ballots, read by the ballot rules and counted as the officers'
    /// results page counts them, give what each completed election's `results.md` says.
    #[test]
    fn sample_ballots_agree_with_the_published_results() {
        use votebox_core::ballot::BallotForm;
        use votebox_core::count::count;
        use votebox_core::results::{Counting, StoredBallots};

        let c = catalog(date!(2030 - 01 - 15));
        let now = datetime!(2030-01-15 12:00:00);
        let mut multi_seat = false;
        for (key, winners, ballots) in [
            ("archive---mascot", vec!["otto"], 4),
            ("archive---infra-team", vec!["ines-moreau", "jonas-berg"], 3),
        ] {
            let e = c.elections().find(|e| e.key == key).unwrap();
            assert_eq!(e.status(now), Status::Completed, "{key}");
            assert!(e.results_html.is_some(), "{key} publishes results");
            let mut rows = Vec::new();
            let sample = SAMPLE_BALLOTS.iter().filter(|(k, ..)| *k == key);
            for (n, (_, login, ranks)) in sample.enumerate() {
                assert!(e.is_eligible(login), "{login} in {key}");
                let fields = ranks
                    .iter()
                    .map(|(id, r)| (format!("candidate@{id}"), (*r).to_owned()));
                let ranking = BallotForm::parse(e, fields)
                    .unwrap()
                    .validate(e, 0)
                    .unwrap();
                for (cand, rank) in ranking.rows() {
                    rows.push((format!("voter-{n}"), cand.clone(), Some(i64::from(*rank))));
                }
            }
            let ids: Vec<String> = e.candidates.iter().map(|c| c.id.clone()).collect();
            let stored = StoredBallots::from_rows(&ids, rows);
            assert_eq!(stored.len(), ballots, "{key}");
            let counting = Counting::of(e);
            let seats = e.seats() as usize;
            multi_seat |= seats > 1;
            let options = counting.options(counting.method, counting.unranked, seats);
            let outcome = count(&stored.profile(), &options).unwrap();
            assert_eq!(outcome.winners, winners, "{key}");
            assert!(
                outcome.ties_at_last_seat.is_empty(),
                "{key}: no tie decides a seat"
            );
            let results = e.results_html.as_deref().unwrap();
            let turnout = format!(
                "{ballots} of {} eligible voters",
                e.voters.as_ref().unwrap().len()
            );
            assert!(results.contains(&turnout), "{key}: {results}");
        }
        assert!(multi_seat, "one completed election fills several seats");
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
