//! What each subcommand does. Thin: configuration comes from [`crate::config`], the work from
//! the other crates (`votebox-db`, `votebox-meta`, `votebox-web`).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use votebox_db::Db;
use votebox_meta::MetaRepo;
use votebox_web::{AppState, Clock, SyncError, WebConfig};

use crate::cli::{
    AuditCommand, Command, DemoArgs, GenerateKeyArgs, ListenArgs, MigrateArgs, PruneOrphanArgs,
};
use crate::config::{Config, ConfigError, Env, var};
use crate::demo::{self, DemoPaths};
use crate::keys;

pub use crate::error::Error;

/// What every command gets: the environment (process + `.env`) and the working directory.
#[derive(Debug, Clone)]
pub struct Context {
    pub env: Env,
    pub cwd: PathBuf,
}

/// Runs one command to completion.
pub async fn run(command: Command, ctx: &Context) -> Result<(), Error> {
    match command {
        // These need no deployment configuration.
        Command::GenerateKey(args) => generate_key(&args, ctx),
        Command::Demo(args) => run_demo(&args, ctx).await,
        Command::Tally(args) => crate::tally::run(&args),
        Command::Verify(args) => crate::verify::run(&args),
        Command::BenchKdf(args) => crate::kdf_sizing::bench(&args),
        Command::Serve(args) => {
            let config = load_config(ctx)?;
            let host = args
                .listen
                .host
                .clone()
                .or_else(|| config.app_host.clone())
                .unwrap_or_else(|| crate::config::DEFAULT_APP_HOST.to_owned());
            let options = ServeOptions::new(&config, &args.listen, host, args.migrate);
            serve(&config, options).await
        }
        Command::Entrypoint(args) => entrypoint(&load_config(ctx)?, &args.listen).await,
        Command::Migrate(args) if args.print_sql => print_sql_command(&args, ctx),
        Command::Migrate(args) => migrate_command(&load_config(ctx)?, &args).await,
        Command::Sync => sync_command(&load_config(ctx)?).await,
        Command::Elections => elections_command(&load_config(ctx)?).await,
        Command::PruneOrphan(args) => prune_orphan(&load_config(ctx)?, &args).await,
        Command::Audit(AuditCommand::Verify(args)) => match (&args.file, &args.database) {
            (Some(_), _) => crate::audit::verify_file(&args),
            (None, Some(url)) => {
                crate::audit::verify_database(&connect_url(url).await?, &args).await
            }
            (None, None) => {
                crate::audit::verify_database(&connect(&load_config(ctx)?).await?, &args).await
            }
        },
    }
}

/// The deployment's configuration; its non-fatal remarks are logged.
fn load_config(ctx: &Context) -> Result<Config, ConfigError> {
    let config = Config::from_env(&ctx.env)?;
    for w in &config.warnings {
        tracing::warn!("{w}");
    }
    Ok(config)
}

// ----- database and meta helpers -------------------------------------------------------------

async fn connect(config: &Config) -> Result<Db, Error> {
    let target = config.database()?;
    for note in &target.notes {
        tracing::warn!("{note}");
    }
    if let Some(dir) = target.sqlite_file.as_deref().and_then(|f| f.parent())
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).with_context(|| {
            format!(
                "cannot create the folder of the SQLite database {}",
                dir.display()
            )
        })?;
    }
    tracing::info!(database = %target.redacted, "connecting to the {} database", target.engine);
    let db = Db::connect(&target.url)
        .await
        .with_context(|| format!("cannot connect to the database {}", target.redacted))?;
    Ok(db)
}

/// Connects to an explicit database URL (`votebox audit verify --database`).
async fn connect_url(url: &str) -> Result<Db, Error> {
    let redacted = votebox_db::redact_url(url);
    Db::connect(url)
        .await
        .with_context(|| format!("cannot connect to the database {redacted}"))
        .map_err(Error::Failed)
}

fn meta_repo(config: &Config) -> Result<MetaRepo, ConfigError> {
    let m = config.meta()?;
    Ok(MetaRepo::new(m.repo, m.path, m.branch, m.election_dir))
}

fn web_config(config: &Config, app_key: String, demo_login: bool) -> WebConfig {
    WebConfig {
        app_name: config.app_name.clone(),
        app_key,
        app_url: config.app_url.clone(),
        debug: config.app_debug,
        meta_secret: config.meta_secret.clone(),
        github_redirect: config.github.redirect.clone(),
        min_passcode_length: config.min_passcode_length,
        demo_login,
        github_client_id: config.github.client_id.clone(),
        github_client_secret: config.github.client_secret.clone(),
        github_authorize_url: config.github.authorize_url.clone(),
        github_access_token_url: config.github.access_token_url.clone(),
        github_api_url: config.github.api_url.clone(),
        kdf_concurrency: config
            .kdf_concurrency
            .unwrap_or_else(crate::kdf_sizing::default_concurrency),
        session_lifetime: config.session_lifetime,
    }
}

/// Runs the migrations; `print` sends what was found, each step and the list of migrations
/// applied to stdout (else to the log).
async fn migrate(db: &Db, print: bool) -> Result<(), Error> {
    let applied = if print {
        votebox_db::migrate::run_with_progress(db, &print_progress).await
    } else {
        votebox_db::migrate::run(db).await
    }
    .context("database migration failed")?;
    // (votebox-db logs each migration it applies; stdout gets them only when asked.)
    if print {
        for m in &applied {
            println!("applied migration {} {}", m.version, m.description);
        }
        println!("database is up to date");
    } else {
        tracing::info!(applied = applied.len(), "database is up to date");
    }
    Ok(())
}

// ----- migrate, sync ---------------------------------------------------------------------------

async fn migrate_command(config: &Config, args: &MigrateArgs) -> Result<(), Error> {
    let db = connect(config).await?;
    let result = if args.status {
        migrate_status(&db).await
    } else {
        println!("# ----- Migrating the database and creating the tables ----- #");
        migrate(&db, true).await
    };
    db.close().await;
    result
}

/// How `votebox migrate` shows the progress of a migration.
fn print_progress(p: votebox_db::migrate::Progress) {
    use votebox_db::migrate::Progress;
    match p {
        Progress::Found(m) => println!("found {m}"),
        Progress::Step(m) => println!("step: {m}"),
        Progress::Note(m) => println!("note: {m}"),
        Progress::ManualSql(sql) => {
            println!(
                "----- SQL for the owner of the tables (or `votebox migrate --print-sql`) -----"
            );
            print!("{sql}");
            println!("----- end of SQL -----");
        }
    }
}

/// `votebox migrate --print-sql [--engine E] [--from N]`: needs no database.
fn print_sql_command(args: &MigrateArgs, ctx: &Context) -> Result<(), Error> {
    let backend = match args.engine.as_deref() {
        Some("pg" | "postgres" | "postgresql") => votebox_db::Backend::Postgres,
        Some("mysql" | "mariadb") => votebox_db::Backend::MySql,
        Some(_) => votebox_db::Backend::Sqlite,
        None => {
            let config = load_config(ctx)?;
            let target = config.database()?;
            votebox_db::Backend::from_url(&target.url).ok_or_else(|| {
                ConfigError::new("DB_CONNECTION", "unknown database engine".to_owned())
            })?
        }
    };
    let sql = votebox_db::migrate::print_sql(backend, args.from).map_err(|e| anyhow!(e))?;
    print!("{sql}");
    Ok(())
}

async fn migrate_status(db: &Db) -> Result<(), Error> {
    let all = votebox_db::migrate::status(db)
        .await
        .context("cannot read the migration status")?;
    for m in &all {
        let state = if m.applied { "applied" } else { "pending" };
        println!("{state:<8} {:>4}  {}", m.version, m.description);
    }
    let pending = all.iter().filter(|m| !m.applied).count();
    if pending == 0 {
        println!("database is up to date");
    } else {
        println!("{pending} pending migration(s): run `votebox migrate`");
    }
    Ok(())
}

async fn sync_command(config: &Config) -> Result<(), Error> {
    let repo = meta_repo(config)?;
    let db = connect(config).await?;
    println!("# ----------- Syncing the meta with the database ----------- #");
    // A holder id of its own: the fetch lease makes it wait for a server's fetch in progress.
    let holder = format!("votebox-sync-{}", std::process::id());
    let result = votebox_web::meta_sync::sync(&db, &repo, &holder, None, Clock::System.now()).await;
    db.close().await;
    match result {
        Ok(synced) => {
            print!("{}", synced.outcome);
            Ok(())
        }
        Err(e) => Err(Error::Failed(anyhow!(e).context("sync failed"))),
    }
}

// ----- serve, entrypoint, demo -----------------------------------------------------------------

struct ServeOptions {
    host: String,
    port: u16,
    migrate: bool,
    resync_seconds: u64,
    /// Print the migration list and sync log to stdout (entrypoint), else log them.
    print_steps: bool,
    /// Demo mode: demo login, quiet key note, announce the URL on stdout.
    demo: Option<DemoPaths>,
}

impl ServeOptions {
    fn new(config: &Config, listen: &ListenArgs, host: String, migrate: bool) -> Self {
        ServeOptions {
            host,
            port: listen.port.unwrap_or(config.app_port),
            migrate,
            resync_seconds: listen.resync_interval,
            print_steps: false,
            demo: None,
        }
    }
}

async fn entrypoint(config: &Config, listen: &ListenArgs) -> Result<(), Error> {
    // Elekto's uWSGI listened on `:$APP_PORT` (every interface) and ignored APP_HOST.
    let host = listen.host.clone().unwrap_or_else(|| "0.0.0.0".to_owned());
    let mut options = ServeOptions::new(config, listen, host, true);
    options.print_steps = true;
    serve(config, options).await
}

async fn run_demo(args: &DemoArgs, ctx: &Context) -> Result<(), Error> {
    let port = match args.port {
        Some(p) => p,
        None => match var(&ctx.env, "APP_PORT") {
            None => demo::DEFAULT_PORT,
            Some(p) => p.trim().parse().map_err(|_| {
                ConfigError::new("APP_PORT", format!("not a TCP port number: {p:?}"))
            })?,
        },
    };
    let paths = DemoPaths::new(&args.data_dir)
        .with_context(|| format!("invalid data folder {}", args.data_dir.display()))?;
    let today = time::OffsetDateTime::now_utc().date();
    demo::prepare(&paths, today)
        .await
        .context("cannot write the demo meta repository")?;
    tracing::info!(data = %paths.data_dir.display(), "demo data folder ready");
    let mut env = paths.env();
    if port != 0 {
        // The demo is plain http on 127.0.0.1, so it says so: its session cookie is then not
        // `Secure`, and the demo works in browsers that refuse Secure cookies over
        // http://127.0.0.1 (Safari). Chrome and Firefox accept them, which is what `--port 0`
        // (no address known in advance) relies on.
        env.insert("APP_URL".to_owned(), format!("http://127.0.0.1:{port}"));
    }
    let config = Config::from_env(&env)?;
    let options = ServeOptions {
        host: "127.0.0.1".to_owned(),
        port,
        migrate: true,
        resync_seconds: demo::RESYNC_SECONDS,
        print_steps: false,
        demo: Some(paths),
    };
    serve(&config, options).await
}

async fn serve(config: &Config, options: ServeOptions) -> Result<(), Error> {
    config.check_http_only()?;
    let demo_login = options.demo.is_some() || config.demo_login;
    if demo_login && !is_loopback(&options.host) {
        return Err(Error::Config(ConfigError::new(
            "VOTEBOX_DEMO_LOGIN",
            format!(
                "the demo login lets anyone sign in as any user, so it is only allowed on a loopback address (127.0.0.1, ::1, localhost), not {}",
                options.host
            ),
        )));
    }
    let repo = meta_repo(config)?;
    config.database()?;
    // First, so the start-up migration and sync are counted too.
    let metrics = spawn_metrics(config).await?;

    let key = keys::resolve_app_key(&config.app_key, &config.data_dir);
    if let Some(w) = key.warning(&config.app_key) {
        if options.demo.is_some() {
            tracing::info!("{w}");
        } else {
            tracing::warn!("{w}");
        }
    }

    if options.print_steps {
        println!("updating the {} database", config.database()?.engine);
    }
    let db = connect(config).await?;
    if options.migrate {
        migrate(&db, options.print_steps).await?;
    } else {
        // An Elekto database not adopted yet (or a half-finished upgrade) is never served.
        votebox_db::migrate::ensure_adopted(&db)
            .await
            .context("the database is not ready")?;
    }

    let state = AppState::new(
        web_config(config, key.key, demo_login),
        db.clone(),
        repo,
        Clock::System,
    );
    if options.print_steps {
        println!(
            "syncing repo {}",
            votebox_meta::redact_remote(&state.meta().remote)
        );
    }
    initial_load(&state, options.print_steps).await?;
    if options.demo.is_some()
        && let Some(snapshot) = state.snapshot()
    {
        let cast = demo::cast_sample_ballots(&db, &snapshot.catalog)
            .await
            .context("cannot cast the demo's sample ballots")?;
        tracing::info!(ballots = cast, "demo sample ballots cast");
    }

    let listener = tokio::net::TcpListener::bind((options.host.as_str(), options.port))
        .await
        .with_context(|| format!("cannot listen on {}:{}", options.host, options.port))?;
    let addr = listener
        .local_addr()
        .context("cannot read the bound address")?;
    tracing::info!("listening on http://{addr}/");
    if options.print_steps {
        println!("starting votebox on http://{addr}/");
    }
    if let Some(paths) = &options.demo {
        announce_demo(addr, paths);
    }

    let resync = spawn_resync(state.clone(), options.resync_seconds);
    // Serves meta commits fetched by other instances; keeps this instance's KDF claims alive.
    let instances = Some(votebox_web::spawn_instance_tasks(state.clone()));
    // Mixes fresh ballots and concludes ended elections, now and every interval.
    let secrecy = Some(votebox_web::spawn_secrecy_timer(
        state.clone(),
        config.ballot_mix_interval,
    ));
    let grace = config.shutdown_grace;
    let served =
        votebox_web::serve_with_grace(listener, state, shutdown_signal(grace), grace).await;
    for task in [resync, instances, secrecy, metrics].into_iter().flatten() {
        task.abort();
    }
    db.close().await;
    match served.context("the web server failed")? {
        votebox_web::Stopped::Drained => tracing::info!("stopped"),
        votebox_web::Stopped::GraceExpired => tracing::warn!(
            grace_seconds = grace.as_secs(),
            "stopped: requests still in flight after the grace period were dropped (VOTEBOX_SHUTDOWN_GRACE_SECONDS)"
        ),
    }
    Ok(())
}

/// Serves Prometheus `/metrics` on `VOTEBOX_METRICS_ADDR` (if set) until aborted.
async fn spawn_metrics(config: &Config) -> Result<Option<tokio::task::JoinHandle<()>>, Error> {
    let Some(addr) = config.metrics_addr.as_deref() else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on VOTEBOX_METRICS_ADDR={addr}"))?;
    let bound = listener
        .local_addr()
        .context("cannot read the metrics address")?;
    tracing::info!("metrics on http://{bound}/metrics");
    Ok(Some(tokio::spawn(async move {
        if let Err(e) = votebox_web::metrics::serve_metrics(listener, std::future::pending()).await
        {
            tracing::error!(error = %e, "the metrics listener failed");
        }
    })))
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn announce_demo(addr: SocketAddr, paths: &DemoPaths) {
    println!("votebox demo is running: open http://{addr}/");
    println!(
        "  sample users: alice, bob, carol, dave (voters), olivia (election officer), mallory (not eligible)"
    );
    println!(
        "  data folder:  {} (meta repository in {})",
        paths.data_dir.display(),
        paths.source.display()
    );
    println!("  press Ctrl-C to stop");
}

/// Start-up load (checklist 8/9, 23): fetch + database sync; if git fails, serve the last fetched
/// commit rather than crash-looping as Elekto's entrypoint does. A database failure is fatal.
async fn initial_load(state: &AppState, print: bool) -> Result<(), Error> {
    match state.sync_meta().await {
        Ok(outcome) => {
            if print {
                print!("{outcome}");
            } else {
                tracing::info!(
                    commit = %outcome.commit,
                    added = outcome.added.len(),
                    renamed = outcome.report.renamed.len(),
                    orphaned = outcome.report.orphaned.len(),
                    broken = outcome.broken.len(),
                    "meta repository synced"
                );
            }
            Ok(())
        }
        Err(SyncError::Git(fetch_error)) => match state.meta().load_local().await {
            Ok(snapshot) => {
                tracing::error!(
                    error = %fetch_error,
                    commit = %snapshot.commit,
                    "cannot fetch the meta repository: serving the last fetched commit until a sync succeeds"
                );
                state.install_snapshot(snapshot);
                Ok(())
            }
            Err(local_error) => Err(Error::Failed(anyhow!(
                "cannot load the meta repository: {fetch_error}; no local copy either: {local_error}"
            ))),
        },
        // (Only a sync replacing a served snapshot can be rejected; start-up has none.)
        Err(e @ (SyncError::Db(_) | SyncError::Rejected { .. } | SyncError::Busy { .. })) => {
            Err(Error::Failed(anyhow!(e).context(
                "start-up sync failed (has the database been migrated? `votebox migrate`)",
            )))
        }
    }
}

/// The lease of the periodic meta sync: one instance fetches every `--resync-interval`.
const RESYNC_LEASE: &str = "meta-resync";

fn spawn_resync(state: AppState, seconds: u64) -> Option<tokio::task::JoinHandle<()>> {
    if seconds == 0 {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(seconds));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await; // the first tick is immediate; the start-up sync just ran
        loop {
            tick.tick().await;
            // One instance fetches every interval; the others follow what it publishes.
            if !state
                .take_periodic_lease(RESYNC_LEASE, Duration::from_secs(seconds))
                .await
            {
                continue;
            }
            // Failures are logged by sync_meta; the previous snapshot keeps being served.
            if let Ok(outcome) = state.sync_meta().await {
                tracing::debug!(commit = %outcome.commit, "periodic meta sync");
                for (key, name) in &outcome.added {
                    tracing::info!(%key, "election added: {name}");
                }
            }
        }
    }))
}

async fn shutdown_signal(grace: Duration) {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!(
        grace_seconds = grace.as_secs(),
        "shutting down: no new connections; finishing requests in flight"
    );
}

// ----- elections, prune-orphan ---------------------------------------------------------------

async fn elections_command(config: &Config) -> Result<(), Error> {
    let db = connect(config).await?;
    let result = list_elections(config, &db).await;
    db.close().await;
    result
}

async fn list_elections(config: &Config, db: &Db) -> Result<(), Error> {
    let rows = votebox_db::elections::list(db)
        .await
        .context("cannot list the elections")?;
    // The meta as last fetched (no network): which keys still exist.
    let meta_keys: Option<BTreeSet<String>> = match meta_repo(config) {
        Err(e) => {
            tracing::warn!("{e}; cannot tell which elections are orphaned");
            None
        }
        Ok(repo) => match repo.load_local().await {
            Ok(s) => Some(
                s.catalog
                    .entries
                    .iter()
                    .map(|e| e.key().to_owned())
                    .collect(),
            ),
            Err(e) => {
                tracing::warn!(
                    "cannot read the local meta repository ({e}); run `votebox sync` first to tell which elections are orphaned"
                );
                None
            }
        },
    };
    let width = rows.iter().map(|r| r.key.len()).max().unwrap_or(3).max(3);
    println!("{:<width$}  {:>6}  {:<9}  NAME", "KEY", "VOTERS", "META");
    let mut orphans = 0;
    for row in &rows {
        let voters = votebox_db::voters::count(db, row.id)
            .await
            .with_context(|| format!("cannot count the voters of {}", row.key))?;
        let state = match &meta_keys {
            None => "?",
            Some(keys) if keys.contains(&row.key) => "present",
            Some(_) => {
                orphans += 1;
                "ORPHANED"
            }
        };
        println!(
            "{:<width$}  {voters:>6}  {state:<9}  {}",
            row.key,
            row.name.as_deref().unwrap_or("")
        );
    }
    if let Some(keys) = &meta_keys {
        for key in keys.iter().filter(|k| !rows.iter().any(|r| &r.key == *k)) {
            println!(
                "{key:<width$}  {:>6}  {:<9}  (in the meta, not yet in the database: run `votebox sync`)",
                "-", "new"
            );
        }
    }
    println!(
        "{} election(s) in the database, {orphans} orphaned (directory gone from the meta; data kept — `votebox prune-orphan KEY` deletes it)",
        rows.len()
    );
    Ok(())
}

async fn prune_orphan(config: &Config, args: &PruneOrphanArgs) -> Result<(), Error> {
    let repo = meta_repo(config)?;
    let db = connect(config).await?;
    let result = prune_orphan_with(&db, &repo, args).await;
    db.close().await;
    result
}

async fn prune_orphan_with(db: &Db, repo: &MetaRepo, args: &PruneOrphanArgs) -> Result<(), Error> {
    let key = args.key.as_str();
    // Fresh meta: a key may have come back since the last sync.
    let snapshot = repo
        .load()
        .await
        .context("cannot fetch the meta repository to check that the election is really gone")?;
    let meta_keys: Vec<String> = snapshot
        .catalog
        .entries
        .iter()
        .map(|e| e.key().to_owned())
        .collect();
    if meta_keys.iter().any(|k| k == key) {
        return Err(Error::Failed(anyhow!(
            "election {key} is still in the meta repository (commit {}): refusing to delete its data",
            snapshot.commit
        )));
    }
    let Some(row) = votebox_db::elections::find_by_key(db, key)
        .await
        .context("cannot look the election up")?
    else {
        return Err(Error::Failed(anyhow!("no election {key} in the database")));
    };
    let voters = votebox_db::voters::count(db, row.id)
        .await
        .context("cannot count voters")?;
    let name = row.name.as_deref().unwrap_or("");
    if !args.yes {
        println!(
            "would delete election {key} ({name}): {voters} voter row(s) and every ballot and exception request of it"
        );
        println!("nothing deleted; run again with --yes to delete");
        return Ok(());
    }
    let deleted = votebox_db::elections::delete_orphan(db, key, &meta_keys)
        .await
        .context("cannot delete the election")?;
    if !deleted {
        return Err(Error::Failed(anyhow!(
            "election {key} was not deleted (it is in the meta repository)"
        )));
    }
    println!(
        "deleted election {key} ({name}) with {voters} voter row(s), its ballots and exception requests"
    );
    Ok(())
}

// ----- generate-key ------------------------------------------------------------------------------

fn generate_key(args: &GenerateKeyArgs, ctx: &Context) -> Result<(), Error> {
    let key = keys::generate_key();
    if args.write {
        let path = crate::dotenv::dotenv_path(&ctx.cwd, &ctx.env);
        keys::write_key_to_dotenv(&path, &key)
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("# ---------------- Generating a new APP_KEY ---------------- #");
        println!("APP_KEY written to {}", path.display());
    } else {
        println!("APP_KEY={key}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_login_only_on_loopback() {
        for h in [
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "[::1]",
            "localhost",
            "LOCALHOST",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in [
            "0.0.0.0",
            "::",
            "10.0.0.1",
            "example.org",
            "localhost.example.org",
        ] {
            assert!(!is_loopback(h), "{h}");
        }
    }
}
