//! Benchmark (not a test) of upgrading a large Elekto 0.5 (schema 1) database with
//! `votebox migrate`, on each engine. Run by `benches/legacy_upgrade.sh`.
//!
//! For each engine: a fresh database gets Elekto 0.5.1's exact tables (the schema-1 fixture of
//! `shared/fixtures/legacy-db`, emptied), then `--elections` elections with 5 candidates each,
//! `--users` users, `--ballots` ballot rows (one voter row per 5 rows, so 40,000 votes for
//! 200,000 rows) and one exception request per election, in batches. The ballot `voter` values
//! have Werkzeug's format with random digests (computing 40,000 real PBKDF2 hashes would take
//! half an hour and changes nothing for the upgrade). Then `votebox migrate` runs under
//! `/usr/bin/time`: wall time and the peak resident memory of the votebox process. Last, the
//! row counts and the ballot ids are checked.
//!
//! ```sh
//! cargo run --release -p votebox-db --example legacy_upgrade -- \
//!     --votebox target/release/votebox [--engines sqlite,postgres,mysql] \
//!     [--elections 1000] [--users 20000] [--ballots 200000]
//! ```

use std::process::Command;

use rand::Rng as _;
use std::time::Instant;

use votebox_db::testing::elekto_fixtures::{exec, fixtures, rows_as_text, sqlite_path};
use votebox_db::{Backend, Db};

struct Args {
    votebox: String,
    engines: Vec<Backend>,
    elections: usize,
    users: usize,
    ballots: usize,
}

fn parse_args() -> Args {
    let mut a = Args {
        votebox: "target/release/votebox".into(),
        engines: Backend::ALL.to_vec(),
        elections: 1000,
        users: 20_000,
        ballots: 200_000,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut it = argv.iter();
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--votebox" => a.votebox = value.clone(),
            "--engines" => {
                a.engines = value
                    .split(',')
                    .map(|e| match e {
                        "sqlite" => Backend::Sqlite,
                        "postgres" | "pg" => Backend::Postgres,
                        "mysql" | "mariadb" => Backend::MySql,
                        other => panic!("unknown engine {other}"),
                    })
                    .collect();
            }
            "--elections" => a.elections = value.parse().expect("number"),
            "--users" => a.users = value.parse().expect("number"),
            "--ballots" => a.ballots = value.parse().expect("number"),
            other => panic!("unknown option {other}"),
        }
    }
    a
}

const CANDIDATES: usize = 5;
const BATCH: usize = 2000;

fn hex(n: usize, rng: &mut impl rand::Rng) -> String {
    (0..n)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap())
        .collect()
}

/// Inserts `rows` (already rendered as SQL tuples) into `table (columns)` in batches, inside
/// one transaction per batch.
async fn insert(db: &Db, table: &str, columns: &str, rows: &[String]) {
    for chunk in rows.chunks(BATCH) {
        exec(
            db,
            &format!("INSERT INTO {table} ({columns}) VALUES {}", chunk.join(",")),
        )
        .await;
    }
}

async fn generate(db: &Db, a: &Args) {
    let b = db.backend();
    let (user_t, key_c, rank_c) = match b {
        Backend::Postgres => ("\"user\"", "key", "rank"),
        Backend::MySql => ("`user`", "`key`", "`rank`"),
        Backend::Sqlite => ("user", "\"key\"", "rank"),
    };
    for t in ["ballot", "voter", "request", "election"] {
        exec(db, &format!("DELETE FROM {t}")).await;
    }
    exec(db, &format!("DELETE FROM {user_t}")).await;
    let ts = "'2021-09-13 10:00:00'";
    let users: Vec<String> = (1..=a.users)
        .map(|i| format!("({i}, 'user{i:05}', 'User {i}', NULL, NULL, {ts}, {ts})"))
        .collect();
    insert(
        db,
        user_t,
        "id, username, name, token, token_expires_at, created_at, updated_at",
        &users,
    )
    .await;
    let elections: Vec<String> = (1..=a.elections)
        .map(|i| format!("({i}, 'bench---e{i:04}', 'Election {i}', {ts}, {ts})"))
        .collect();
    insert(
        db,
        "election",
        &format!("id, {key_c}, name, created_at, updated_at"),
        &elections,
    )
    .await;
    let requests: Vec<String> = (1..=a.elections)
        .map(|i| {
            format!(
                "({i}, {u}, {i}, 'Name {i}', 'x{i}@example.org', 'chat', 'why', '', {rev}, {ts}, {ts})",
                u = (i % a.users) + 1,
                rev = if b == Backend::Postgres { "false" } else { "0" }
            )
        })
        .collect();
    insert(
        db,
        "request",
        "id, user_id, election_id, name, email, chat, description, comments, reviewed, created_at, updated_at",
        &requests,
    )
    .await;

    let votes = a.ballots / CANDIDATES;
    let mut rng = rand::rng();
    let mut voters = Vec::with_capacity(votes);
    let mut ballots = Vec::with_capacity(a.ballots);
    let mut ballot_id = 0usize;
    for v in 0..votes {
        let election = v % a.elections + 1;
        let user = (v / a.elections * 7919 + election) % a.users + 1;
        voters.push(format!("({}, {user}, {election}, {ts}, {ts})", v + 1));
        let hash = format!(
            "pbkdf2:sha256:260000${}${}",
            hex(16, &mut rng),
            hex(64, &mut rng)
        );
        for c in 0..CANDIDATES {
            ballot_id += 1;
            let rank = if rng.random_range(0..10) == 0 {
                100_000_000
            } else {
                rng.random_range(1..=CANDIDATES)
            };
            ballots.push(format!(
                "({ballot_id}, {election}, {rank}, 'cand{c}', '{hash}', {ts}, {ts})"
            ));
        }
    }
    insert(
        db,
        "voter",
        "id, user_id, election_id, created_at, updated_at",
        &voters,
    )
    .await;
    insert(
        db,
        "ballot",
        &format!("id, election_id, {rank_c}, candidate, voter, created_at, updated_at"),
        &ballots,
    )
    .await;
    if b == Backend::Postgres {
        for t in ["\"user\"", "election", "voter", "ballot", "request"] {
            let seq = t.trim_matches('"');
            exec(
                db,
                &format!("SELECT setval('{seq}_id_seq', (SELECT MAX(id) FROM {t}))"),
            )
            .await;
        }
    }
}

async fn count(db: &Db, table: &str) -> usize {
    rows_as_text(db, table).await.len()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a = parse_args();
    println!(
        "legacy upgrade bench: {} elections, {} users, {} ballot rows ({} votes), Elekto 0.5.1 schema",
        a.elections,
        a.users,
        a.ballots,
        a.ballots / CANDIDATES
    );
    for &backend in &a.engines {
        let f = fixtures(backend).find(|f| f.schema == 1).unwrap();
        let (url, _guard) = f.load_url().await;
        let db = Db::connect(&url).await.expect("connect");
        let t = Instant::now();
        generate(&db, &a).await;
        let generated = t.elapsed();
        db.close().await;

        let mut cmd = Command::new("/usr/bin/time");
        cmd.args(["-f", "%e %M", &a.votebox, "migrate"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("RUST_LOG", "warn");
        match backend {
            Backend::Sqlite => {
                cmd.env("DB_CONNECTION", "sqlite")
                    .env("DB_PATH", sqlite_path(&url));
            }
            _ => {
                cmd.env("DATABASE_URL", &url);
            }
        }
        let out = cmd.output().expect("run /usr/bin/time votebox migrate");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "votebox migrate failed:\n{}{stderr}",
            String::from_utf8_lossy(&out.stdout)
        );
        let last = stderr.lines().last().unwrap_or_default();
        let mut parts = last.split_whitespace();
        let seconds: f64 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(f64::NAN);
        let kib: f64 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(f64::NAN);

        let db = Db::connect(&url).await.expect("connect");
        let ballots = count(&db, "ballot").await;
        let voters = count(&db, "voter").await;
        let sample = rows_as_text(&db, "ballot").await;
        assert_eq!(ballots, a.ballots, "ballot rows kept");
        assert_eq!(voters, a.ballots / CANDIDATES, "voter rows kept");
        assert!(
            sample
                .iter()
                .all(|r| r["id"].as_deref().is_some_and(|id| id.len() == 32)),
            "ballot ids are CHAR(32)"
        );
        db.close().await;
        println!(
            "{:<8} generate {:>6.1} s | votebox migrate {:>6.2} s, peak RSS {:>6.1} MiB (target < 60 s) | {} ballots, {} voters kept",
            backend.name(),
            generated.as_secs_f64(),
            seconds,
            kib / 1024.0,
            ballots,
            voters
        );
    }
}
