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

use askama::Template;
use axum::response::Response;
use serde::Deserialize;
use votebox_core::count::{Method, Unranked, count};
use votebox_core::results::{
    Counted, Counting, MarkdownInfo, ResultsReport, StoredBallots, UNRANKED_RULES, WhatIfRow,
    candidate_names, method_label, recount_every_way, results_markdown, sha256_hex,
};
use votebox_db::{ballots, voters};

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

    /// The method asked for, else the configured one.
    fn method(&self, counting: &Counting) -> AppResult<Method> {
        Self::non_empty(&self.method)
            .map(|m| m.parse().map_err(|e| AppError::BadRequest(format!("{e}"))))
            .unwrap_or(Ok(counting.method))
    }

    /// The unranked rule asked for, else the configured one.
    fn unranked(&self, counting: &Counting) -> AppResult<Unranked> {
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

/// The election's ballots, grouped, and its number of voter rows (none before the sync).
async fn load_ballots(officer: &OfficerCtx) -> AppResult<(StoredBallots, i64)> {
    let ids: Vec<String> = officer
        .election
        .candidates
        .iter()
        .map(|c| c.id.clone())
        .collect();
    let Some(id) = officer.row else {
        return Ok((
            StoredBallots::from_rows(&ids, Vec::<(String, String, _)>::new()),
            0,
        ));
    };
    let db = officer.state.db();
    let rows = ballots::all_for_election(db, id).await?;
    let voters = voters::count(db, id).await?;
    let rows = rows
        .into_iter()
        .map(|(voter, cand, rank)| (voter, cand, rank.map(i64::from)));
    Ok((StoredBallots::from_rows(&ids, rows), voters))
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
}

impl AdminResultsPage {
    /// The link that recounts as a line of the "what if" panel says.
    fn recount_href(&self, w: &WhatIfRow) -> String {
        let (base, method, unranked) = (&self.admin_url, w.method, w.unranked);
        format!("{base}/results?method={method}&unranked={unranked}")
    }
}

/// The what-if form's methods, `chosen` selected.
fn method_choices(chosen: Method) -> Vec<Choice> {
    Method::ALL
        .into_iter()
        .map(|m| Choice {
            value: m.as_str(),
            label: method_label(m),
            selected: m == chosen,
        })
        .collect()
}

/// The what-if form's unranked rules, `chosen` selected.
fn unranked_choices(chosen: Unranked) -> Vec<Choice> {
    UNRANKED_RULES
        .into_iter()
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
    let (stored, voters) = load_ballots(&officer).await?;
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
    render_ok(&AdminResultsPage {
        layout: officer.layout(format!("Results | {}", officer.election.name)),
        election: officer.head(),
        report,
        methods: method_choices(method),
        unranked_choices: unranked_choices(unranked),
        csv_href: format!("{admin_url}/download?seed={seed}"),
        md_href: format!("{admin_url}/results.md?seed={seed}&method={method}&unranked={unranked}"),
        admin_url,
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
    let (stored, _) = load_ballots(&officer).await?;
    let s2 = seed.clone();
    let csv = blocking(move || stored.to_elekto_csv(&s2)).await?;
    let ballots = csv.lines().count().saturating_sub(1);
    let (election, login) = (&officer.election.key, &officer.user.login);
    tracing::info!(%election, officer = %login, ballots, "ballots CSV exported");
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
    let (stored, voters) = load_ballots(&officer).await?;
    let options = counting.options(method, unranked, officer.election.seats() as usize);
    let s2 = seed.clone();
    let (csv, outcome, stored) = blocking(move || {
        let outcome = count(&stored.profile(), &options);
        (stored.to_elekto_csv(&s2), outcome, stored)
    })
    .await?;
    let outcome = outcome.map_err(error::cannot_count)?;
    let csv_name = download_name("ballots", &officer.election.key, "csv");
    let export = Export {
        file_name: &csv_name,
        csv_sha256: sha256_hex(csv.as_bytes()),
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
    let md = results_markdown(&outcome, &info);
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

/// The ballots export a draft is counted from and quotes.
struct Export<'a> {
    /// The CSV's download name.
    file_name: &'a str,
    csv_sha256: String,
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
        notes,
    }
}
