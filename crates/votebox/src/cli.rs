//! The command line (clap derive). Settings come from Elekto's environment variables (see
//! `docs/configuration.md`); options here only override a few of them for one run.

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser as _};
use clap::{Args, Parser, Subcommand, ValueEnum};
use votebox_core::count::{Method, Unranked};

const ENV_HELP: &str = "\
Configuration comes from Elekto's environment variables, read from the process environment and
from `.env` in the current directory (`.env.testing` when TESTING is set), whose values override
the environment, as in Elekto. An empty value counts as unset. The main ones:

  DB_CONNECTION     mysql | postgresql | sqlite (required unless DATABASE_URL is set)
  DB_HOST, DB_PORT, DB_USERNAME, DB_PASSWORD, DB_DATABASE, DB_PATH, DATABASE_URL
  META_REPO         git URL or path of the meta repository
  META_PATH         local mirror of it [default: meta]
  META_BRANCH       [default: main]
  ELECTION_DIR      directory of the elections inside the meta repository (required)
  META_SECRET       webhook HMAC secret
  APP_NAME, APP_KEY, APP_URL, APP_DEBUG, APP_HOST, APP_PORT, MIN_PASSCODE_LENGTH
  GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET, GITHUB_REDIRECT
  VOTEBOX_DATA_DIR  votebox's own files (generated APP_KEY, default SQLite file) [default: data]
  VOTEBOX_DEMO_LOGIN  sign in as any user without GitHub (loopback only; demos, tests)
  RUST_LOG          log filter [default: info];  LOG_FORMAT=json for JSON logs
  VOTEBOX_METRICS_ADDR  host:port for Prometheus GET /metrics (separate listener) [default: off]
  VOTEBOX_SHUTDOWN_GRACE_SECONDS  on SIGTERM, time left to requests in flight [default: 30]
  VOTEBOX_SESSION_LIFETIME_SECONDS  how long a login lasts [default: 86400]

Every variable, its default and Elekto's behaviour: docs/configuration.md.
Exit status: 0 success, 1 failure, 2 configuration or usage error.";

/// votebox: a drop-in replacement for the Elekto election server.
///
/// It reads Elekto's environment variables, meta repository and database, and serves the same
/// URLs. `votebox entrypoint` does what Elekto's container did: migrate, sync, serve.
#[derive(Debug, Parser)]
#[command(name = "votebox", version, after_long_help = ENV_HELP, after_help = "Environment variables: see `votebox --help` (long form) or docs/configuration.md.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web application (Elekto's `console --run`).
    ///
    /// Loads the meta repository on start (fetch and database sync; if the fetch fails, the last
    /// fetched copy is served and the error logged), then serves HTTP until SIGINT/SIGTERM.
    /// Does not migrate the database unless --migrate is given.
    Serve(ServeArgs),

    /// Create or upgrade the database tables (Elekto's `console --migrate`).
    ///
    /// Recognises an empty database, a database of Elekto 0.5 (schema 1) or 0.6+ (schema 2) and
    /// upgrades it in place on every engine, keeping every row (a SQLite file is first copied
    /// next to itself). Prints what it found, each step and each migration applied, then
    /// "database is up to date". Safe to run repeatedly, from several processes at once, and
    /// again after an interruption. When the database user may not change the tables, it
    /// prints the SQL for an owner and changes nothing.
    Migrate(MigrateArgs),

    /// Fetch the meta repository and sync its elections into the database (`console --sync`).
    ///
    /// Clones the repository into META_PATH if needed, fetches META_BRANCH, adds new elections,
    /// updates names and prints the sync log. Elections whose directory disappeared are kept with
    /// their ballots (see `elections` and `prune-orphan`). Exits non-zero if git fails.
    Sync,

    /// List the elections in the database, marking those no longer in the meta repository.
    ///
    /// Reads the last fetched copy of the meta repository (no network).
    Elections,

    /// Delete an orphaned election's data (voters, ballots, exception requests).
    ///
    /// Only for an election whose directory is gone from the meta repository: refused when the
    /// key is still there. Fetches the meta repository first. Without --yes, only shows what
    /// would be deleted.
    PruneOrphan(PruneOrphanArgs),

    /// Print a new random APP_KEY (Elekto's `console --generate`).
    ///
    /// Prints `APP_KEY=<64 hex characters>`; with --write, stores it in `.env` (or
    /// `.env.testing` when TESTING is set) in the current directory instead.
    GenerateKey(GenerateKeyArgs),

    /// What the container runs: migrate, then sync, then serve (Elekto's entrypoint.sh).
    ///
    /// Binds 0.0.0.0:APP_PORT by default, like Elekto's uWSGI `--http :$APP_PORT`.
    /// APP_CONNECT=socket (uWSGI protocol) is rejected: votebox speaks HTTP only.
    Entrypoint(EntrypointArgs),

    /// Run a self-contained demo: sample elections, SQLite, no GitHub account or network needed.
    ///
    /// Creates the data folder with a sample meta repository (a local git repository with three
    /// elections whose dates are set relative to today), migrates, syncs and serves on
    /// 127.0.0.1 with a demo login that lets you pick a sample user. Ignores the DB_*, META_*
    /// and APP_* variables except APP_PORT.
    Demo(DemoArgs),

    /// Count a ballots file offline (no database, server or network needed).
    ///
    /// Reads Elekto's ballots.csv, BLT, PrefLib (.soc/.soi/.toc/.toi) or ABIF, detecting the
    /// format from the content, and prints the ranking (tiers, best first), the winners and any
    /// tie at the last seat, as text, JSON or a results.md draft. A malformed file is reported
    /// with its line and column (exit status 2).
    Tally(TallyArgs),

    /// Recount a downloaded ballot board and check a published results.md or a receipt.
    ///
    /// Reads the board as downloaded from votebox (CSV or JSON, detected from the content),
    /// recounts it with the method, seats and tie-break seed it names (or the options given
    /// here) and prints the result and the board's SHA-256. With --results, checks a results.md
    /// draft (winners, ranking, tie, method, seats, ballot count, board SHA-256) and exits with
    /// status 1 on any difference; with --receipt, says whether that receipt is on the board
    /// and with which ranking (status 1 when it is not). A malformed board is reported with its
    /// line (exit status 2).
    Verify(VerifyArgs),

    /// Check elections' audit chains offline (see `votebox audit verify --help`).
    #[command(subcommand)]
    Audit(AuditCommand),

    /// Time the ballot KDF (Argon2i, 512 MiB, as Elekto) on this machine (for benches/cast.sh).
    #[command(hide = true)]
    BenchKdf(BenchKdfArgs),
}

#[derive(Debug, Clone, Subcommand)]
pub enum AuditCommand {
    /// Verify audit chains: every entry in order, each linked to the one before, none edited.
    ///
    /// Reads a log downloaded from an officer's audit page (JSON lines; entries are checked in
    /// file order), or every election's chain in the database (--database, else DATABASE_URL /
    /// DB_*), where it also checks that the ballots are still those recorded when voting closed.
    /// Prints one line per election and names the first broken link. Exit status: 0 all good,
    /// 1 a chain is broken or the ballots changed, 2 unreadable input.
    Verify(AuditVerifyArgs),
}

#[derive(Debug, Clone, Args)]
pub struct AuditVerifyArgs {
    /// An exported log (JSON lines, `-` for standard input); without it, the database.
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// Database URL (postgres://, mysql://, sqlite://) [default: DATABASE_URL / DB_*].
    #[arg(long, value_name = "URL", conflicts_with = "file")]
    pub database: Option<String>,

    /// Only the election with this key.
    #[arg(long, value_name = "KEY")]
    pub election: Option<String>,

    /// A head quoted elsewhere (a committed results.md), as SEQ:HASH: the chain must hold that
    /// entry with that hash (shows entries removed from the end or a rewritten chain).
    #[arg(long, value_name = "SEQ:HASH")]
    pub head: Option<String>,

    /// A downloaded ballot board (CSV or JSON): its SHA-256 must be the one the chain of its
    /// election recorded when voting closed.
    #[arg(long, value_name = "BOARD")]
    pub board: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct BenchKdfArgs {
    /// How many key derivations to time.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
}

#[derive(Debug, Clone, Args)]
pub struct ListenArgs {
    /// Address to bind [default: APP_HOST, else 127.0.0.1 for `serve`, 0.0.0.0 for `entrypoint`].
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,

    /// Port to listen on [default: APP_PORT, else 5000]. 0 picks a free port.
    #[arg(short, long, value_name = "PORT")]
    pub port: Option<u16>,

    /// Re-fetch and sync the meta repository every SECONDS (0 = never; the webhook
    /// POST /v1/webhooks/meta/sync always works).
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub resync_interval: u64,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub listen: ListenArgs,

    /// Run the database migrations before serving.
    #[arg(long)]
    pub migrate: bool,
}

#[derive(Debug, Clone, Args)]
pub struct EntrypointArgs {
    #[command(flatten)]
    pub listen: ListenArgs,
}

#[derive(Debug, Clone, Args)]
pub struct MigrateArgs {
    /// List every migration as applied or pending, and change nothing.
    #[arg(long)]
    pub status: bool,

    /// Print the SQL that upgrades an Elekto database to what `votebox migrate` makes, for an
    /// owner to run by hand, and change nothing (no database connection is needed with --engine).
    #[arg(long, conflicts_with = "status")]
    pub print_sql: bool,

    /// Engine for --print-sql: pg, mysql or sqlite [default: from DB_CONNECTION / DATABASE_URL].
    #[arg(long, value_name = "ENGINE", requires = "print_sql", value_parser = ["pg", "postgres", "postgresql", "mysql", "mariadb", "sqlite"])]
    pub engine: Option<String>,

    /// Elekto schema the database is at, for --print-sql: 1 (Elekto 0.5.x, no schema_version
    /// table) or 2 (Elekto 0.6 and later).
    #[arg(long, value_name = "VERSION", default_value_t = 1, requires = "print_sql", value_parser = clap::value_parser!(u32).range(1..=2))]
    pub from: u32,
}

#[derive(Debug, Clone, Args)]
pub struct PruneOrphanArgs {
    /// Election key as stored in the database (the directory under ELECTION_DIR, `/` → `---`).
    #[arg(value_name = "KEY")]
    pub key: String,

    /// Really delete (otherwise only show what would be deleted).
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Clone, Args)]
pub struct GenerateKeyArgs {
    /// Write `APP_KEY='…'` into `.env` in the current directory (replacing an APP_KEY line)
    /// instead of printing it.
    #[arg(long)]
    pub write: bool,
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Folder for the demo's database, meta repository and key (created if missing).
    #[arg(long, value_name = "DIR", default_value = "votebox-demo")]
    pub data_dir: PathBuf,

    /// Port on 127.0.0.1 [default: APP_PORT, else 8080]. 0 picks a free port.
    #[arg(short, long, value_name = "PORT")]
    pub port: Option<u16>,
}

/// Output formats of `votebox tally`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TallyFormat {
    /// Human-readable summary.
    Text,
    /// The whole count as JSON.
    Json,
    /// A results.md draft.
    Markdown,
}

#[derive(Debug, Clone, Args)]
pub struct TallyArgs {
    /// Ballots file (Elekto ballots.csv, BLT, PrefLib .soc/.soi/.toc/.toi or ABIF; the format
    /// is detected from the content). `-` reads standard input.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Seats to fill [default: the file's own (BLT), else 1].
    #[arg(long, value_name = "N")]
    pub seats: Option<usize>,

    /// Counting method (schulze = Elekto's).
    #[arg(
        long,
        value_name = "METHOD",
        default_value = "schulze",
        value_parser = PossibleValuesParser::new(Method::ALL.map(Method::as_str))
            .map(|s| s.parse::<Method>().expect("a listed method name"))
    )]
    pub method: Method,

    /// How unranked candidates count: no-opinion (Elekto: no comparison) or last (Debian:
    /// below every ranked candidate).
    #[arg(
        long,
        value_name = "RULE",
        default_value = "no-opinion",
        value_parser = PossibleValuesParser::new(["no-opinion", "last"])
            .map(|s| s.parse::<Unranked>().expect("a listed rule"))
    )]
    pub unranked: Unranked,

    /// Output format.
    #[arg(long, value_enum, default_value_t = TallyFormat::Text)]
    pub format: TallyFormat,

    /// Break ties that the method leaves open with an order derived from this public seed
    /// (recorded in the output). Without it, ties are reported, never broken.
    #[arg(long, value_name = "SEED")]
    pub tie_break_seed: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// The ballot board as downloaded (board.csv or board.json). `-` reads standard input.
    #[arg(value_name = "BOARD")]
    pub board: PathBuf,

    /// A results.md draft to check against the recount.
    #[arg(long, value_name = "FILE")]
    pub results: Option<PathBuf>,

    /// A receipt code to look for on the board (case, spaces and hyphens do not matter).
    #[arg(long, value_name = "CODE")]
    pub receipt: Option<String>,

    /// Count with this method instead of the one the board names.
    #[arg(
        long,
        value_name = "METHOD",
        value_parser = PossibleValuesParser::new(Method::ALL.map(Method::as_str))
            .map(|s| s.parse::<Method>().expect("a listed method name"))
    )]
    pub method: Option<Method>,

    /// Count unranked candidates this way instead of the board's rule.
    #[arg(
        long,
        value_name = "RULE",
        value_parser = PossibleValuesParser::new(["no-opinion", "last"])
            .map(|s| s.parse::<Unranked>().expect("a listed rule"))
    )]
    pub unranked: Option<Unranked>,

    /// Seats to fill instead of the board's.
    #[arg(long, value_name = "N")]
    pub seats: Option<usize>,

    /// Break ties with this public seed instead of the board's.
    #[arg(long, value_name = "SEED")]
    pub tie_break_seed: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_subcommand_and_option_is_documented() {
        let cmd = Cli::command();
        for sub in cmd.get_subcommands() {
            assert!(sub.get_about().is_some(), "{} has no help", sub.get_name());
            for arg in sub.get_arguments() {
                if arg.get_id() == "help" {
                    continue;
                }
                assert!(
                    arg.get_help().is_some(),
                    "{} {} has no help",
                    sub.get_name(),
                    arg.get_id()
                );
            }
        }
    }
}
