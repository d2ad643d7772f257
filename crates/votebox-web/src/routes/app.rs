//! Logged-in pages under `/app`: dashboard, election list, election, candidate, results and the
//! officer dashboard. Every handler takes [`CurrentUser`] first, so anonymous requests get the
//! login redirect before anything else (Elekto's auth guard).

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use votebox_core::meta::{Election, Status};
use votebox_db::{elections, voters};

use super::public::{ListQuery, list_page};
use super::{PathParams, QueryParams, parsed_election, snapshot, to_slash_form};
use crate::app::{AppState, Resolved, resolve};
use crate::error::{AppError, AppResult};
use crate::session::{CurrentUser, Session};
use crate::views::{
    AdminPage, CandidatePage, DashboardPage, ElectionHead, ElectionItem, ElectionPage, FieldItem,
    Layout, ResultsPage, render_ok, shuffled_candidates, utc,
};

/// Whether `user` has voted in the election `key` (their voter row, or their login's ballot cast
/// by a previous holder of the login). An election without a database row (not synced yet)
/// counts as "not voted".
async fn has_voted(state: &AppState, user: &CurrentUser, key: &str) -> AppResult<bool> {
    match elections::find_by_key(state.db(), key).await? {
        Some(row) => Ok(voters::has_voted(state.db(), user.id, &user.login, row.id).await?),
        None => Ok(false),
    }
}

/// `GET /app`: "Welcome!", running elections, "Previously Voted".
pub(crate) async fn dashboard(
    user: CurrentUser,
    State(state): State<AppState>,
    session: Session,
) -> AppResult<Response> {
    let snap = snapshot(&state)?;
    let now = state.now();
    let running = snap
        .catalog
        .elections_newest_first()
        .into_iter()
        .filter(|e| e.status(now) == Status::Running)
        .map(|e| ElectionItem::new(e, now))
        .collect();
    let voted_keys = voters::voted_election_keys(state.db(), user.id).await?;
    // Elections that vanished from the meta (or are broken) are skipped, never a 404.
    let voted = voted_keys
        .iter()
        .filter_map(|k| match resolve(&snap.catalog, k) {
            Some(Resolved::Ok(e)) => Some(ElectionItem::new(e, now)),
            _ => None,
        })
        .collect();
    render_ok(&DashboardPage {
        layout: Layout::new(&state, &session, "Dashboard"),
        welcome_name: user.display_name().to_owned(),
        running,
        voted,
    })
}

/// `GET /app/elections[?status=s]`.
pub(crate) async fn elections_list(
    _user: CurrentUser,
    State(state): State<AppState>,
    session: Session,
    QueryParams(q): QueryParams<ListQuery>,
) -> AppResult<Response> {
    list_page(
        &state,
        &session,
        "/app/elections",
        q.status.unwrap_or_default(),
    )
}

/// `GET /app/elections/<eid>`: the election page (§4.5).
pub(crate) async fn election(
    user: CurrentUser,
    State(state): State<AppState>,
    session: Session,
    PathParams(eid): PathParams<String>,
) -> AppResult<Response> {
    let snap = snapshot(&state)?;
    let e = parsed_election(&snap, &eid)?;
    let now = state.now();
    let status = e.status(now);
    let voted = has_voted(&state, &user, &e.key).await?;
    let page = ElectionPage {
        layout: Layout::new(&state, &session, e.name.clone()),
        election: ElectionHead::new(e, now),
        candidates: shuffled_candidates(e),
        eligible: e.is_eligible(&user.login),
        voted,
        running: status == Status::Running,
        completed: status == Status::Completed,
        results_published: e.results_published(now),
        officer: e.is_officer(&user.login),
        exception_due: utc(e.exception_due),
        csrf_token: session.csrf_token(),
    };
    render_ok(&page)
}

/// `GET /app/elections/<eid>/candidates/<cid>`: by header `ID`, else by file `candidate-<cid>.md`.
pub(crate) async fn candidate(
    _user: CurrentUser,
    State(state): State<AppState>,
    session: Session,
    PathParams((eid, cid)): PathParams<(String, String)>,
) -> AppResult<Response> {
    let snap = snapshot(&state)?;
    let e = parsed_election(&snap, &eid)?;
    let c = e
        .candidate(&cid)
        .or_else(|| e.candidate_by_file_id(&cid))
        .ok_or(AppError::NotFound)?;
    let fields = e
        .show_candidate_fields
        .iter()
        .map(|f| FieldItem {
            field: f.clone(),
            value: c
                .info
                .iter()
                .find(|(k, _)| k == f)
                .map(|(_, v)| v.clone())
                .unwrap_or_default(),
        })
        .collect();
    render_ok(&CandidatePage {
        layout: Layout::new(&state, &session, c.name.clone()),
        election_key: e.key.clone(),
        election_name: e.name.clone(),
        id: c.id.clone(),
        name: c.name.clone(),
        fields,
        body_html: c.body_html.clone(),
    })
}

/// `GET /app/elections/<eid>/results` → 308 to the slash form (and the same for `/admin`).
pub(crate) async fn slash_redirect(_user: CurrentUser, uri: Uri) -> Response {
    to_slash_form(&uri)
}

/// `GET /app/elections/<eid>/results/`: the published `results.md`, once completed.
pub(crate) async fn results(
    _user: CurrentUser,
    State(state): State<AppState>,
    session: Session,
    PathParams(eid): PathParams<String>,
) -> AppResult<Response> {
    let snap = snapshot(&state)?;
    let e = parsed_election(&snap, &eid)?;
    let now = state.now();
    if e.status(now) != Status::Completed {
        return Err(not_completed());
    }
    render_ok(&ResultsPage {
        layout: Layout::new(&state, &session, format!("Results | {}", e.name)),
        election: ElectionHead::new(e, now),
        results_html: e.results_html.clone(),
    })
}

/// Elekto's message page for results requested too early (status 200, as Elekto).
pub(crate) fn not_completed() -> AppError {
    AppError::message(
        StatusCode::OK,
        "The election is not completed yet",
        "The application needs election to be over first.",
    )
}

/// The officer check: 403 page "You are not an Election officer".
pub(crate) fn require_officer(e: &Election, user: &CurrentUser) -> AppResult<()> {
    if e.is_officer(&user.login) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "You are not an Election officer".to_owned(),
        ))
    }
}

/// `GET /app/elections/<eid>/admin/`: officer dashboard (basics).
pub(crate) async fn admin(
    user: CurrentUser,
    State(state): State<AppState>,
    session: Session,
    PathParams(eid): PathParams<String>,
) -> AppResult<Response> {
    let snap = snapshot(&state)?;
    let e = parsed_election(&snap, &eid)?;
    require_officer(e, &user)?;
    let now = state.now();
    let row = elections::find_by_key(state.db(), &e.key).await?;
    let voter_count = match &row {
        Some(r) => voters::count(state.db(), r.id).await?,
        None => 0,
    };
    render_ok(&AdminPage {
        layout: Layout::new(&state, &session, "Election Officer's Dashboard"),
        election: ElectionHead::new(e, now),
        no_winners: e.no_winners.map(|n| n.to_string()).unwrap_or_default(),
        voter_count,
        synced: row.is_some(),
        completed: e.status(now) == Status::Completed,
        requests: super::exception::dashboard_items(&state, row.as_ref().map(|r| r.id)).await?,
    })
}
