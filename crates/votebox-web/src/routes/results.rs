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

use std::collections::{HashMap, HashSet};

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use votebox_core::count::{
    CountError, CountOptions, Matrix, Method, Outcome, TieBreak, TieResolution, Unranked, count,
};
use votebox_core::meta::{Election, Status};
use votebox_core::results::{
    MarkdownInfo, StaleCandidate, StoredBallots, is_condorcet_method, method_label,
    results_markdown, sha256_hex, tier_labels, unranked_label,
};
use votebox_db::{ballots, elections, voters};

use super::app::{not_completed, require_officer};
use super::{PathParams, QueryParams, parsed_election, snapshot};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::session::{CurrentUser, Session};
use crate::views::{ElectionHead, Layout, render_ok};

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

    fn method(&self) -> AppResult<Option<Method>> {
        Self::non_empty(&self.method)
            .map(|m| m.parse().map_err(|e| AppError::BadRequest(format!("{e}"))))
            .transpose()
    }

    fn unranked(&self) -> AppResult<Option<Unranked>> {
        Self::non_empty(&self.unranked)
            .map(|u| u.parse().map_err(AppError::BadRequest))
            .transpose()
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

/// Characters escaped in URL path segments and query values built here.
const URL_PART: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, URL_PART).to_string()
}

fn random_seed() -> String {
    let bytes: [u8; 8] = rand::random();
    hex::encode(bytes)
}

/// How an election is counted, from its `election.yaml` (votebox-only keys Elekto ignores).
#[derive(Debug, Clone)]
struct Counting {
    method: Method,
    unranked: Unranked,
    tie_break: Option<TieBreak>,
    /// Problems with the keys (an unknown value falls back to Elekto's default).
    warnings: Vec<String>,
}

fn election_counting(e: &Election) -> Counting {
    let mut warnings = Vec::new();
    let norm = |s: &str| s.trim().to_ascii_lowercase().replace('_', "-");
    let method = match e.counting.method.as_deref().map(norm) {
        None => Method::Schulze,
        Some(m) if m.is_empty() => Method::Schulze,
        Some(m) => m.parse().unwrap_or_else(|err| {
            warnings.push(format!(
                "election.yaml voting_method: {err}; counted with schulze (Elekto's method)"
            ));
            Method::Schulze
        }),
    };
    let unranked = match e.counting.unranked.as_deref().map(norm) {
        None => Unranked::NoOpinion,
        Some(u) if u.is_empty() => Unranked::NoOpinion,
        Some(u) => u.parse().unwrap_or_else(|err| {
            warnings.push(format!(
                "election.yaml unranked: {err}; counted with no-opinion (Elekto's rule)"
            ));
            Unranked::NoOpinion
        }),
    };
    let tie_break = e
        .counting
        .tie_break_seed
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(TieBreak::from_seed);
    Counting {
        method,
        unranked,
        tie_break,
        warnings,
    }
}

fn options(c: &Counting, method: Method, unranked: Unranked, seats: usize) -> CountOptions {
    let mut o = CountOptions::new(method, seats).with_unranked(unranked);
    if let Some(tb) = &c.tie_break {
        o = o.with_tie_break(tb.clone());
    }
    o
}

/// The officer and completion checks of every endpoint here; returns the election.
fn officer_election<'a>(
    snap: &'a votebox_meta::Snapshot,
    eid: &str,
    user: &CurrentUser,
    state: &AppState,
) -> AppResult<&'a Election> {
    let e = parsed_election(snap, eid)?;
    require_officer(e, user)?;
    if e.status(state.now()) != Status::Completed {
        return Err(not_completed());
    }
    Ok(e)
}

/// The election's ballots, grouped, and its number of voter rows.
async fn load_ballots(state: &AppState, e: &Election) -> AppResult<(StoredBallots, i64)> {
    let ids: Vec<String> = e.candidates.iter().map(|c| c.id.clone()).collect();
    let Some(row) = elections::find_by_key(state.db(), &e.key).await? else {
        return Ok((
            StoredBallots::from_rows(&ids, Vec::<(String, String, _)>::new()),
            0,
        ));
    };
    let rows = ballots::all_for_election(state.db(), row.id).await?;
    let voters = voters::count(state.db(), row.id).await?;
    let stored = StoredBallots::from_rows(
        &ids,
        rows.into_iter()
            .map(|(voter, cand, rank)| (voter, cand, rank.map(i64::from))),
    );
    Ok((stored, voters))
}

/// Runs CPU work off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AppError::internal(format!("counting task failed: {e}")))
}

// ----------------------------------------------------------------------------------------------
// The page

pub(crate) struct CandView {
    pub id: String,
    pub name: String,
    /// In the ranking: `elected`, `tied` (tied for the last seat) or empty.
    pub mark: &'static str,
}

impl CandView {
    fn shows_name(&self) -> bool {
        self.name != self.id
    }
}

pub(crate) struct RankRow {
    pub label: u32,
    pub tie: bool,
    /// `elected`, `tied` (straddles the last seat) or empty.
    pub status: &'static str,
    pub candidates: Vec<CandView>,
}

pub(crate) struct Cell {
    pub value: u64,
    /// CSS class: `self`, `tie`, `win1`…`win4`, `loss1`…`loss4`.
    pub class: String,
    pub title: String,
}

pub(crate) struct MatrixRow {
    pub candidate: CandView,
    pub cells: Vec<Cell>,
}

pub(crate) struct RoundView {
    pub number: usize,
    pub tallies: String,
    pub exhausted: String,
    pub quota: String,
    pub elected: String,
    pub excluded: String,
}

pub(crate) struct WhatIfRow {
    pub method: &'static str,
    pub method_label: &'static str,
    pub unranked: &'static str,
    pub href: String,
    pub winners: String,
    pub tied: String,
    pub error: Option<String>,
    pub differs: bool,
    pub current: bool,
    pub configured: bool,
}

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
    pub method: &'static str,
    pub method_label: &'static str,
    pub unranked: &'static str,
    pub unranked_label: &'static str,
    /// The shown count is the election's own configuration (not a what-if).
    pub is_configured: bool,
    pub configured_method: &'static str,
    pub configured_unranked: &'static str,
    pub warnings: Vec<String>,
    pub ballots: usize,
    pub voters: i64,
    pub eligible: Option<usize>,
    pub turnout: String,
    pub stale: Vec<StaleCandidate>,
    pub stale_ballots: usize,
    pub error: Option<String>,
    /// `condorcet`, `tie`, `winner` or `none`.
    pub headline: &'static str,
    pub top: Vec<CandView>,
    pub ranking: Vec<RankRow>,
    pub seats: usize,
    pub winners: Vec<CandView>,
    pub tied: Vec<CandView>,
    pub open_seats: usize,
    pub condorcet_method: bool,
    pub condorcet: Option<CandView>,
    pub smith: Vec<CandView>,
    pub schwartz: Vec<CandView>,
    pub matrix_candidates: Vec<CandView>,
    pub pairwise: Vec<MatrixRow>,
    pub paths: Vec<MatrixRow>,
    pub tie_break: Option<String>,
    pub tie_notes: Vec<String>,
    pub rounds: Vec<RoundView>,
    pub log: Vec<String>,
    pub what_if: Vec<WhatIfRow>,
    pub any_differs: bool,
    pub methods: Vec<Choice>,
    pub unranked_choices: Vec<Choice>,
    pub csv_href: String,
    pub md_href: String,
}

impl AdminResultsPage {
    fn has_matrix(&self) -> bool {
        !self.pairwise.is_empty()
    }
}

struct Names(HashMap<String, String>);

impl Names {
    fn of(e: &Election) -> Names {
        Names(
            e.candidates
                .iter()
                .map(|c| (c.id.clone(), c.name.clone()))
                .collect(),
        )
    }

    fn view(&self, id: &str) -> CandView {
        CandView {
            id: id.to_owned(),
            name: self.0.get(id).cloned().unwrap_or_else(|| id.to_owned()),
            mark: "",
        }
    }

    fn views(&self, ids: &[String]) -> Vec<CandView> {
        ids.iter().map(|i| self.view(i)).collect()
    }

    fn text(&self, ids: &[String]) -> String {
        ids.iter()
            .map(|i| match self.0.get(i) {
                Some(n) if n != i => format!("{n} ({i})"),
                _ => i.clone(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Colour class of cell (x, y) of a matrix: how clearly x beats y.
fn cell(m: &Matrix, x: usize, y: usize, ballots: u64, what: &str, ids: &[String]) -> Cell {
    let (a, b) = (m.get(x, y), m.get(y, x));
    let class = if x == y {
        "self".to_owned()
    } else if a == b {
        "tie".to_owned()
    } else {
        let margin = a.abs_diff(b) as f64 / ballots.max(1) as f64;
        let level = if margin > 0.5 {
            4
        } else if margin > 0.25 {
            3
        } else if margin > 0.1 {
            2
        } else {
            1
        };
        format!("{}{level}", if a > b { "win" } else { "loss" })
    };
    let title = if x == y {
        String::new()
    } else {
        format!(
            "{what} {} over {}: {a}; {} over {}: {b}",
            ids[x], ids[y], ids[y], ids[x]
        )
    };
    Cell {
        value: a,
        class,
        title,
    }
}

fn matrix_rows(
    m: &Matrix,
    order: &[usize],
    ids: &[String],
    names: &Names,
    ballots: u64,
    what: &str,
) -> Vec<MatrixRow> {
    order
        .iter()
        .map(|&x| MatrixRow {
            candidate: names.view(&ids[x]),
            cells: order
                .iter()
                .map(|&y| cell(m, x, y, ballots, what, ids))
                .collect(),
        })
        .collect()
}

fn fmt_votes(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.4}")
    }
}

fn winners_key(o: &Outcome) -> (Vec<String>, Vec<String>) {
    let mut w = o.winners.clone();
    w.sort();
    let mut t = o.ties_at_last_seat.clone();
    t.sort();
    (w, t)
}

/// `GET /app/elections/<eid>/admin/results`.
pub(crate) async fn results_page(
    user: CurrentUser,
    State(state): State<AppState>,
    session: Session,
    PathParams(eid): PathParams<String>,
    QueryParams(q): QueryParams<ResultsQuery>,
) -> AppResult<Response> {
    let snap = snapshot(&state)?;
    let e = officer_election(&snap, &eid, &user, &state)?;
    let chosen_method = q.method()?;
    let chosen_unranked = q.unranked()?;
    let seed = q.seed()?;
    let (stored, voter_rows) = load_ballots(&state, e).await?;
    let counting = election_counting(e);
    let seats = e.seats() as usize;
    let method = chosen_method.unwrap_or(counting.method);
    let unranked = chosen_unranked.unwrap_or(counting.unranked);

    // Every method × rule (the "what if" panel); the shown count is one of them.
    let profile = stored.profile();
    let c2 = counting.clone();
    let all: Vec<(Method, Unranked, Result<Outcome, CountError>)> = blocking(move || {
        let mut all = Vec::new();
        for m in Method::ALL {
            for u in [Unranked::NoOpinion, Unranked::Last] {
                all.push((m, u, count(&profile, &options(&c2, m, u, seats))));
            }
        }
        all
    })
    .await?;
    let find = |m: Method, u: Unranked| {
        all.iter()
            .find(|(am, au, _)| *am == m && *au == u)
            .map(|(_, _, r)| r)
            .expect("every combination is counted")
    };
    let shown = find(method, unranked);
    let configured = find(counting.method, counting.unranked);
    let configured_key = configured.as_ref().ok().map(winners_key);
    let names = Names::of(e);

    let base = format!("/app/elections/{}/admin", enc(&e.key));
    let seed_enc = enc(&seed);

    let what_if: Vec<WhatIfRow> = all
        .iter()
        .map(|(m, u, r)| {
            let href = format!("{base}/results?method={m}&unranked={u}");
            let (winners, tied, error, differs) = match r {
                Ok(o) => (
                    names.text(&o.winners),
                    names.text(&o.ties_at_last_seat),
                    None,
                    configured_key
                        .as_ref()
                        .is_some_and(|k| *k != winners_key(o)),
                ),
                Err(err) => (String::new(), String::new(), Some(err.to_string()), false),
            };
            WhatIfRow {
                method: m.as_str(),
                method_label: method_label(*m),
                unranked: u.as_str(),
                href,
                winners,
                tied,
                error,
                differs,
                current: *m == method && *u == unranked,
                configured: *m == counting.method && *u == counting.unranked,
            }
        })
        .collect();
    let any_differs = what_if.iter().any(|w| w.differs);

    let eligible = e.voters.as_ref().map(Vec::len);
    let turnout = match eligible {
        Some(n) if n > 0 => format!("{:.1}%", voter_rows as f64 * 100.0 / n as f64),
        _ => "n/a".to_owned(),
    };

    let mut page = AdminResultsPage {
        layout: Layout::new(&state, &session, format!("Results | {}", e.name)),
        election: ElectionHead::new(e, state.now()),
        method: method.as_str(),
        method_label: method_label(method),
        unranked: unranked.as_str(),
        unranked_label: unranked_label(unranked),
        is_configured: method == counting.method && unranked == counting.unranked,
        configured_method: counting.method.as_str(),
        configured_unranked: counting.unranked.as_str(),
        warnings: counting.warnings.clone(),
        ballots: stored.len(),
        voters: voter_rows,
        eligible,
        turnout,
        stale: stored.stale.clone(),
        stale_ballots: stored.ballots_naming_stale,
        error: None,
        headline: "none",
        top: Vec::new(),
        ranking: Vec::new(),
        seats,
        winners: Vec::new(),
        tied: Vec::new(),
        open_seats: 0,
        condorcet_method: is_condorcet_method(method),
        condorcet: None,
        smith: Vec::new(),
        schwartz: Vec::new(),
        matrix_candidates: Vec::new(),
        pairwise: Vec::new(),
        paths: Vec::new(),
        tie_break: None,
        tie_notes: Vec::new(),
        rounds: Vec::new(),
        log: Vec::new(),
        what_if,
        any_differs,
        methods: Method::ALL
            .iter()
            .map(|m| Choice {
                value: m.as_str(),
                label: method_label(*m),
                selected: *m == method,
            })
            .collect(),
        unranked_choices: [Unranked::NoOpinion, Unranked::Last]
            .iter()
            .map(|u| Choice {
                value: u.as_str(),
                label: u.as_str(),
                selected: *u == unranked,
            })
            .collect(),
        csv_href: format!("{base}/download?seed={seed_enc}"),
        md_href: format!("{base}/results.md?seed={seed_enc}&method={method}&unranked={unranked}"),
    };
    match shown {
        Err(err) => page.error = Some(err.to_string()),
        Ok(o) => fill_outcome(&mut page, o, &names),
    }
    render_ok(&page)
}

fn fill_outcome(page: &mut AdminResultsPage, o: &Outcome, names: &Names) {
    let winners: HashSet<&String> = o.winners.iter().collect();
    let tied: HashSet<&String> = o.ties_at_last_seat.iter().collect();
    page.ranking = tier_labels(o)
        .into_iter()
        .zip(&o.ranking)
        .map(|(label, tier)| RankRow {
            label,
            tie: tier.len() > 1,
            status: if tier.iter().all(|c| winners.contains(c)) {
                "elected"
            } else if tier.iter().any(|c| tied.contains(c) || winners.contains(c)) {
                "tied"
            } else {
                ""
            },
            candidates: tier
                .iter()
                .map(|c| CandView {
                    mark: if winners.contains(c) {
                        "elected"
                    } else if tied.contains(c) {
                        "tied"
                    } else {
                        ""
                    },
                    ..names.view(c)
                })
                .collect(),
        })
        .collect();
    let top = o.ranking.first().cloned().unwrap_or_default();
    page.headline = match (&o.condorcet_winner, top.len()) {
        (_, 0) => "none",
        (Some(cw), 1) if top[0] == *cw => "condorcet",
        (_, 1) => "winner",
        _ => "tie",
    };
    page.top = names.views(&top);
    page.winners = names.views(&o.winners);
    page.tied = names.views(&o.ties_at_last_seat);
    page.open_seats = o.seats.saturating_sub(o.winners.len());
    page.condorcet = o.condorcet_winner.as_deref().map(|c| names.view(c));
    page.smith = names.views(&o.smith_set);
    page.schwartz = names.views(&o.schwartz_set);

    // Matrices in ranking order (candidates are in sorted-ID order inside a tier).
    let ids = &o.candidates;
    let order: Vec<usize> = o
        .ranking
        .iter()
        .flatten()
        .filter_map(|c| o.index_of(c))
        .collect();
    page.matrix_candidates = order.iter().map(|&i| names.view(&ids[i])).collect();
    if let Some(d) = &o.pairwise {
        page.pairwise = matrix_rows(d, &order, ids, names, o.ballots, "ballots ranking");
    }
    if let Some(p) = &o.strongest_paths {
        page.paths = matrix_rows(p, &order, ids, names, o.ballots, "strongest path");
    }
    if let Some(tb) = &o.tie_break {
        page.tie_break = Some(format!(
            "Tie-break seed {:?} ({}): order {}. {}",
            tb.seed.as_deref().unwrap_or("(explicit order)"),
            tb.rule,
            tb.order.join(" > "),
            if tb.used {
                "It decided at least one tie (below)."
            } else {
                "No tie needed it."
            }
        ));
    }
    page.tie_notes = o
        .ties
        .iter()
        .map(|t| {
            let how = match t.resolution {
                TieResolution::Irrelevant => "irrelevant (every choice gives the same result)",
                TieResolution::TieBreak => "decided by the tie-break",
                TieResolution::Unresolved => "NOT decided: reported as a tie",
            };
            let round = t
                .round
                .map(|r| format!(" in round {r}"))
                .unwrap_or_default();
            let chosen = if t.chosen.is_empty() {
                String::new()
            } else {
                format!("; choice: {}", t.chosen.join(", "))
            };
            format!(
                "{:?} tie{round} between {}: {how}{chosen}",
                t.kind,
                t.candidates.join(", ")
            )
        })
        .collect();
    page.rounds = o
        .rounds
        .iter()
        .map(|r| RoundView {
            number: r.number,
            tallies: r
                .tallies
                .iter()
                .map(|t| format!("{} {}", t.candidate, fmt_votes(t.votes)))
                .collect::<Vec<_>>()
                .join(", "),
            exhausted: fmt_votes(r.exhausted),
            quota: r.quota.map(fmt_votes).unwrap_or_default(),
            elected: r.elected.join(", "),
            excluded: r.excluded.join(", "),
        })
        .collect();
    page.log = o.log.clone();
}

// ----------------------------------------------------------------------------------------------
// Exports

fn attachment(content_type: &'static str, filename: &str, body: String, seed: &str) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename={filename}")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(seed) {
        h.insert(HeaderName::from_static("x-votebox-export-seed"), v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// `GET /app/elections/<eid>/admin/download`: Elekto's `ballots.csv`.
pub(crate) async fn download(
    user: CurrentUser,
    State(state): State<AppState>,
    PathParams(eid): PathParams<String>,
    QueryParams(q): QueryParams<ResultsQuery>,
) -> AppResult<Response> {
    let snap = snapshot(&state)?;
    let e = officer_election(&snap, &eid, &user, &state)?;
    let seed = q.seed()?;
    let (stored, _) = load_ballots(&state, e).await?;
    let s2 = seed.clone();
    let csv = blocking(move || stored.to_elekto_csv(&s2)).await?;
    tracing::info!(election = %e.key, officer = %user.login, ballots = csv.lines().count().saturating_sub(1), "ballots CSV exported");
    Ok(attachment(
        "text/csv; charset=utf-8",
        "ballots.csv",
        csv,
        &seed,
    ))
}

/// `GET /app/elections/<eid>/admin/results.md`: a `results.md` draft.
pub(crate) async fn results_md(
    user: CurrentUser,
    State(state): State<AppState>,
    PathParams(eid): PathParams<String>,
    QueryParams(q): QueryParams<ResultsQuery>,
) -> AppResult<Response> {
    let snap = snapshot(&state)?;
    let e = officer_election(&snap, &eid, &user, &state)?;
    let seed = q.seed()?;
    let counting = election_counting(e);
    let method = q.method()?.unwrap_or(counting.method);
    let unranked = q.unranked()?.unwrap_or(counting.unranked);
    let (stored, voter_rows) = load_ballots(&state, e).await?;
    let opts = options(&counting, method, unranked, e.seats() as usize);
    let s2 = seed.clone();
    let (csv, outcome, stored) = blocking(move || {
        let csv = stored.to_elekto_csv(&s2);
        let outcome = count(&stored.profile(), &opts);
        (csv, outcome, stored)
    })
    .await?;
    let outcome = outcome.map_err(|err| {
        AppError::message(
            axum::http::StatusCode::OK,
            "The results cannot be counted",
            err.to_string(),
        )
    })?;
    let (key_enc, seed_enc) = (enc(&e.key), enc(&seed));
    let mut notes = counting.warnings.clone();
    notes.push(format!(
        "The ballots file is the officers' export `/app/elections/{key_enc}/admin/download?seed={seed_enc}` (the same seed gives the same file)."
    ));
    let info = MarkdownInfo {
        title: &e.name,
        names: Names::of(e).0,
        turnout: Some((
            u64::try_from(voter_rows).unwrap_or(0),
            e.voters.as_ref().map(|v| v.len() as u64),
        )),
        ballots_file: Some(("ballots.csv", sha256_hex(csv.as_bytes()), Some(&seed))),
        stale: &stored.stale,
        notes,
    };
    let md = results_markdown(&outcome, &info);
    Ok(attachment(
        "text/markdown; charset=utf-8",
        "results.md",
        md,
        &seed,
    ))
}
