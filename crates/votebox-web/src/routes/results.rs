//! Officer results and exports (checklist 50–54, 59), for officers of the election only and
//! only once it is completed:
//!
//! * `GET /app/elections/<eid>/admin/results[?method=…&unranked=…&seed=…]`: the count, computed
//!   from the `ballot` rows at request time (nothing is stored), with the method and unranked
//!   rule of `election.yaml` (`voting_method`, `unranked`, `tie_break_seed`; defaults = Elekto's
//!   Schulze with "no opinion"). `method`/`unranked` recount the same ballots another way (the
//!   "what if" panel: plain links and a GET form, no JavaScript).
//! * `GET …/admin/download[?seed=…]`: Elekto's `ballots.csv` (see
//!   [`votebox_core::results::StoredBallots::to_elekto_csv`]). Lines are ordered by a seed: a
//!   given `seed` always gives the same bytes; without one a random seed is used (reported in
//!   the `X-Votebox-Export-Seed` header).
//! * `GET …/admin/results.md[?seed=…&method=…&unranked=…]`: a `results.md` draft that quotes the
//!   SHA-256 of exactly the CSV that `download?seed=<same seed>` serves. The results page links
//!   both with one fresh seed, so the two files belong together.
//!
//! Each of them records itself in the election's audit chain (`crate::audit`); the page warns
//! when the chain is broken or the ballots differ from those recorded when voting closed, and
//! the draft quotes the chain's head and the ballots at close.

use askama::Template;
use axum::response::Response;
use serde::Deserialize;
use votebox_core::audit::Event;
use votebox_core::count::{BallotKind, Method, Unranked, count};
use votebox_core::results::{
    Counted, Counting, MarkdownInfo, ResultsReport, StoredBallots, UNRANKED_RULES, WhatIfRow,
    candidate_names, method_label, recount_every_way, results_markdown, sha256_hex,
};
use votebox_core::verify::{Board, BoardAccess};
use votebox_db::{ballots, voters};

use crate::audit::{AuditCheck, Current};

use crate::error::{self, AppError, AppResult};
use crate::extract::{OfficerCtx, QueryParams};
use crate::response::{attachment, download_name, render_ok, url_part};
use crate::views::{ElectionHead, Layout};

/// Query of the three endpoints. Empty values count as absent (the what-if form's "as
/// configured" choice).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ResultsQuery {
    method: Option<String>,
    unranked: Option<String>,
    seed: Option<String>,
}

impl ResultsQuery {
    fn non_empty(v: &Option<String>) -> Option<&str> {
        v.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }

    /// The method asked for, else the configured one. Only a method for the election's kind
    /// of ballot: ranks and stars cannot be counted by a method made for the other.
    fn method(&self, counting: &Counting) -> AppResult<Method> {
        let method = Self::non_empty(&self.method)
            .map(|m| m.parse().map_err(|e| AppError::BadRequest(format!("{e}"))))
            .unwrap_or(Ok(counting.method))?;
        let kind = counting.method.ballot_kind();
        if method.ballot_kind() != kind {
            return Err(AppError::BadRequest(match kind {
                BallotKind::Score => format!(
                    "this election has score ballots: {method} counts ranked ballots; use star"
                ),
                BallotKind::Ranked => {
                    format!("this election has ranked ballots: {method} counts score ballots")
                }
            }));
        }
        Ok(method)
    }

    /// The unranked rule asked for, else the configured one (always Elekto's for score
    /// ballots, where it does not apply).
    fn unranked(&self, counting: &Counting) -> AppResult<Unranked> {
        if counting.method.ballot_kind() == BallotKind::Score {
            return Ok(Unranked::NoOpinion);
        }
        Self::non_empty(&self.unranked)
            .map(|u| u.parse().map_err(AppError::BadRequest))
            .unwrap_or(Ok(counting.unranked))
    }

    /// The export seed: the given one (at most 128 characters), else a fresh random one.
    fn seed(&self) -> AppResult<String> {
        match Self::non_empty(&self.seed) {
            Some(s) if s.chars().count() <= 128 => Ok(s.to_owned()),
            Some(_) => Err(AppError::BadRequest(
                "seed: at most 128 characters".to_owned(),
            )),
            None => Ok(random_seed()),
        }
    }
}

pub(crate) fn random_seed() -> String {
    let bytes: [u8; 8] = rand::random();
    hex::encode(bytes)
}

/// The election's ballots, grouped, their digest and board SHA-256 for the audit chain, and the
/// number of voter rows (none before the sync).
async fn load_ballots(officer: &OfficerCtx) -> AppResult<(StoredBallots, Current, i64)> {
    let ids: Vec<String> = officer
        .election
        .candidates
        .iter()
        .map(|c| c.id.clone())
        .collect();
    let Some(id) = officer.row else {
        let stored = StoredBallots::from_rows(&ids, Vec::<(String, String, _)>::new());
        let current = Current::of(&officer.election, &[], &stored);
        return Ok((stored, current, 0));
    };
    let db = officer.state.db();
    let rows = ballots::all_for_election(db, id).await?;
    let voters = voters::count(db, id).await?;
    let stored = StoredBallots::from_rows(
        &ids,
        rows.iter()
            .map(|(voter, cand, rank)| (voter.as_str(), cand.as_str(), rank.map(i64::from))),
    );
    let current = Current::of(&officer.election, &rows, &stored);
    Ok((stored, current, voters))
}

/// Records voting closed if that is due, then reads and checks the audit chain against the
/// ballots as loaded (`None` before the sync).
async fn audit_check(officer: &OfficerCtx, now: Current) -> AppResult<Option<AuditCheck>> {
    let Some(id) = officer.row else {
        return Ok(None);
    };
    let (db, election) = (officer.state.db(), &officer.election);
    crate::audit::observe(db, election, id, officer.now()).await?;
    Ok(Some(AuditCheck::load(db, id, &election.key, now).await?))
}

/// Appends `event` to the election's chain (nothing before the sync).
async fn record(officer: &OfficerCtx, event: Event) {
    if let Some(id) = officer.row {
        let (db, key) = (officer.state.db(), &officer.election.key);
        crate::audit::record(db, id, key, officer.now(), event).await;
    }
}

/// Runs CPU work off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AppError::internal(format!("counting task failed: {e}")))
}

/// `/app/elections/<key>/admin`.
fn admin_url(officer: &OfficerCtx) -> String {
    format!("{}/admin", officer.url())
}

// ----------------------------------------------------------------------------------------------
// The page

pub(crate) struct Choice {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "admin_results.html")]
pub(crate) struct AdminResultsPage {
    pub layout: Layout,
    pub election: ElectionHead,
    pub report: ResultsReport,
    pub methods: Vec<Choice>,
    pub unranked_choices: Vec<Choice>,
    /// `/app/elections/<key>/admin`.
    pub admin_url: String,
    pub csv_href: String,
    pub md_href: String,
    /// The ballot board page, unless `ballot_board: off`.
    pub board_href: Option<String>,
    /// A broken audit chain, ballots changed since the close.
    pub audit_warnings: Vec<String>,
    /// "… match those recorded when voting closed (entry N)", when they do.
    pub audit_ok: Option<String>,
}

impl AdminResultsPage {
    /// The link that recounts as a line of the "what if" panel says.
    fn recount_href(&self, w: &WhatIfRow) -> String {
        let (base, method, unranked) = (&self.admin_url, w.method, w.unranked);
        format!("{base}/results?method={method}&unranked={unranked}")
    }
}

/// The what-if form's methods (those for the election's kind of ballot), `chosen` selected.
fn method_choices(chosen: Method) -> Vec<Choice> {
    Method::for_ballot(chosen.ballot_kind())
        .map(|m| Choice {
            value: m.as_str(),
            label: method_label(m),
            selected: m == chosen,
        })
        .collect()
}

/// The what-if form's unranked rules, `chosen` selected (none for score ballots).
fn unranked_choices(method: Method, chosen: Unranked) -> Vec<Choice> {
    let rules: &[Unranked] = match method.ballot_kind() {
        BallotKind::Ranked => &UNRANKED_RULES,
        BallotKind::Score => &[],
    };
    rules
        .iter()
        .copied()
        .map(|u| Choice {
            value: u.as_str(),
            label: u.as_str(),
            selected: u == chosen,
        })
        .collect()
}

/// `GET /app/elections/<eid>/admin/results`.
pub(crate) async fn results_page(
    officer: OfficerCtx,
    QueryParams(q): QueryParams<ResultsQuery>,
) -> AppResult<Response> {
    officer.require_completed()?;
    let counting = Counting::of(&officer.election);
    let (method, unranked) = (q.method(&counting)?, q.unranked(&counting)?);
    let seed = url_part(&q.seed()?);
    let (stored, current, voters) = load_ballots(&officer).await?;
    let audit = audit_check(&officer, current).await?;
    let (profile, seats) = (stored.profile(), officer.election.seats() as usize);
    let c2 = counting.clone();
    let recounts = blocking(move || recount_every_way(&profile, &c2, seats)).await?;
    let counted = Counted {
        stored: &stored,
        voters,
        recounts: &recounts,
    };
    let report = ResultsReport::new(&officer.election, &counting, method, unranked, counted);
    let admin_url = admin_url(&officer);
    let login = &officer.user.login;
    record(
        &officer,
        Event::results_viewed(login, method.as_str(), unranked.as_str()),
    )
    .await;
    render_ok(&AdminResultsPage {
        layout: officer.layout(format!("Results | {}", officer.election.name)),
        election: officer.head(),
        report,
        methods: method_choices(method),
        unranked_choices: unranked_choices(method, unranked),
        csv_href: format!("{admin_url}/download?seed={seed}"),
        md_href: format!("{admin_url}/results.md?seed={seed}&method={method}&unranked={unranked}"),
        board_href: (BoardAccess::of(&officer.election).0 != BoardAccess::Off)
            .then(|| crate::routes::board::board_url(&officer.election.key)),
        audit_warnings: audit.as_ref().map(AuditCheck::warnings).unwrap_or_default(),
        audit_ok: audit.as_ref().and_then(audit_ok),
        admin_url,
    })
}

/// The reassurance line of the results page: the chain verifies and the ballots are those
/// recorded at close.
fn audit_ok(check: &AuditCheck) -> Option<String> {
    let (ballots, _) = check.ballots_at_close()?;
    let closed = check.closed.as_ref()?;
    check.intact_since_close().then(|| {
        format!(
            "The audit log verifies and the {ballots} ballots are those recorded when voting \
             closed (audit entry {}, board SHA-256 {}).",
            closed.seq, check.now.board_sha256
        )
    })
}

// ----------------------------------------------------------------------------------------------
// Exports

/// `GET /app/elections/<eid>/admin/download`: Elekto's `ballots.csv`.
pub(crate) async fn download(
    officer: OfficerCtx,
    QueryParams(q): QueryParams<ResultsQuery>,
) -> AppResult<Response> {
    officer.require_completed()?;
    let seed = q.seed()?;
    let (stored, _, _) = load_ballots(&officer).await?;
    let s2 = seed.clone();
    let csv = blocking(move || stored.to_elekto_csv(&s2)).await?;
    let ballots = csv.lines().count().saturating_sub(1);
    let (election, login) = (&officer.election.key, &officer.user.login);
    tracing::info!(%election, officer = %login, ballots, "ballots CSV exported");
    let sha = sha256_hex(csv.as_bytes());
    record(
        &officer,
        Event::export_made("ballots.csv", &sha, login, Some(seed.as_str())),
    )
    .await;
    Ok(attachment(
        "text/csv; charset=utf-8",
        &download_name("ballots", &officer.election.key, "csv"),
        csv,
        &seed,
    ))
}

/// `GET /app/elections/<eid>/admin/results.md`: a `results.md` draft.
pub(crate) async fn results_md(
    officer: OfficerCtx,
    QueryParams(q): QueryParams<ResultsQuery>,
) -> AppResult<Response> {
    officer.require_completed()?;
    let seed = q.seed()?;
    let counting = Counting::of(&officer.election);
    let (method, unranked) = (q.method(&counting)?, q.unranked(&counting)?);
    let (stored, current, voters) = load_ballots(&officer).await?;
    let audit = audit_check(&officer, current).await?;
    let options = counting.options(method, unranked, officer.election.seats() as usize);
    let (s2, election) = (seed.clone(), officer.election.clone());
    let (csv, board_sha256, outcome, stored) = blocking(move || {
        let outcome = count(&stored.profile(), &options);
        let board_sha256 = Board::new(&election, &stored).sha256();
        (stored.to_elekto_csv(&s2), board_sha256, outcome, stored)
    })
    .await?;
    let outcome = outcome.map_err(error::cannot_count)?;
    let csv_name = download_name("ballots", &officer.election.key, "csv");
    let export = Export {
        file_name: &csv_name,
        csv_sha256: sha256_hex(csv.as_bytes()),
        board_sha256,
        seed: &seed,
        stored: &stored,
        voters,
    };
    let what_if = (!counting.is(method, unranked)).then(|| {
        format!(
            "{} (what-if recount: {method}, unranked {unranked}; not the configured count)",
            officer.election.name
        )
    });
    let mut info = draft_info(&officer, &counting, export);
    if let Some(title) = &what_if {
        info.title = title;
        info.notes.insert(
            0,
            format!(
                "WHAT-IF RECOUNT: counted with {method} and unranked {unranked}; the election is configured for {} and {}. Do not publish this draft as the election's result.",
                counting.method, counting.unranked
            ),
        );
    }
    // The draft certifies the board as it was at the close (when the chain has it), so that a
    // board changed since no longer verifies against it.
    if let Some(at_close) = audit.as_ref().and_then(AuditCheck::board_at_close) {
        info.board_sha256 = Some(at_close);
    }
    info.notes
        .extend(audit.as_ref().map(audit_notes).unwrap_or_default());
    let md = results_markdown(&outcome, &info);
    let login = &officer.user.login;
    let sha = sha256_hex(md.as_bytes());
    record(
        &officer,
        Event::export_made("results.md", &sha, login, Some(seed.as_str())),
    )
    .await;
    let name = if what_if.is_some() {
        format!("results-what-if-{method}-{unranked}")
    } else {
        "results".to_owned()
    };
    Ok(attachment(
        "text/markdown; charset=utf-8",
        &download_name(&name, &officer.election.key, "md"),
        md,
        &seed,
    ))
}

/// What a draft says of the audit chain: its head (committing the draft to the meta repository
/// anchors it in git), the ballots at close, and any warning.
fn audit_notes(check: &AuditCheck) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(head) = check.head() {
        notes.push(format!(
            "Audit chain head: entry {}, SHA-256 `{}` (check with `votebox audit verify`).",
            head.seq, head.hash
        ));
    }
    if let (Some(closed), Some((ballots, sha))) = (&check.closed, check.ballots_at_close()) {
        notes.push(format!(
            "Ballots at close (audit entry {}): {ballots}, ballots SHA-256 `{sha}`, ballot board \
             SHA-256 `{}`.",
            closed.seq,
            check.board_at_close().unwrap_or_default()
        ));
    }
    notes.extend(
        check
            .warnings()
            .into_iter()
            .map(|w| format!("WARNING: {w}")),
    );
    notes
}

/// The ballots export a draft is counted from and quotes.
struct Export<'a> {
    /// The CSV's download name.
    file_name: &'a str,
    csv_sha256: String,
    /// The SHA-256 of the election's ballot board, which `votebox verify --results` checks.
    board_sha256: String,
    seed: &'a str,
    stored: &'a StoredBallots,
    /// Voter rows, for the turnout.
    voters: i64,
}

/// What a draft says besides the count: names, turnout, the export and notes.
fn draft_info<'a>(
    officer: &'a OfficerCtx,
    counting: &Counting,
    export: Export<'a>,
) -> MarkdownInfo<'a> {
    let e = &officer.election;
    let mut notes: Vec<String> = counting.warnings.iter().map(ToString::to_string).collect();
    notes.push(format!(
        "The ballots file is the officers' export `{}/download?seed={}` (the same seed gives the same file).",
        admin_url(officer),
        url_part(export.seed)
    ));
    MarkdownInfo {
        title: &e.name,
        names: candidate_names(e),
        turnout: Some((
            u64::try_from(export.voters).unwrap_or(0),
            e.voters.as_ref().map(|v| v.len() as u64),
        )),
        ballots_file: Some((export.file_name, export.csv_sha256, Some(export.seed))),
        stale: &export.stored.stale,
        board_sha256: Some(export.board_sha256),
        notes,
    }
}
