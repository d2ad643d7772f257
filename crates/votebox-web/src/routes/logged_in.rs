//! Logged-in pages under `/app`: dashboard, election list, election, candidate, results and the
//! officer dashboard. Every handler takes [`CurrentUser`] (or an election context, which starts
//! with it) first, so anonymous requests get the login redirect before anything else (Elekto's
//! auth guard).

use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use votebox_core::meta::{Status, display_utc};
use votebox_core::verify::BoardAccess;
use votebox_db::{requests, voters};

use super::public::{ListQuery, list_page};
use crate::app::{AppState, Resolved, resolve};
use crate::error::{AppError, AppResult};
use crate::extract::{
    ElectionCtx, ElectionVotedCtx, OfficerCtx, PathParams, QueryParams, snapshot,
};
use crate::response::{render_ok, to_slash_form};
use crate::session::{CurrentUser, Session};
use crate::views::{
    AdminPage, CandidatePage, DashboardPage, ElectionItem, ElectionPage, FieldItem, Layout,
    RequestItem, ResultsPage, shuffled_candidates,
};

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
    ElectionVotedCtx { ctx, voted }: ElectionVotedCtx,
) -> AppResult<Response> {
    let (e, login) = (&ctx.election, &ctx.user.login);
    let status = ctx.status();
    let checks_receipts = match BoardAccess::of(e).0 {
        BoardAccess::Public => true,
        BoardAccess::Officers => e.is_eligible(login) || e.is_officer(login),
        BoardAccess::Off => false,
    };
    render_ok(&ElectionPage {
        layout: ctx.layout(e.name.clone()),
        election: ctx.head(),
        candidates: shuffled_candidates(e),
        eligible: e.is_eligible(login),
        voted,
        running: status == Status::Running,
        completed: status == Status::Completed,
        results_published: e.results_published(ctx.now()),
        officer: e.is_officer(login),
        exception_due: display_utc(e.exception_due),
        csrf_token: ctx.session.csrf_token(),
        receipt_check_href: (status == Status::Completed && checks_receipts)
            .then(|| crate::routes::board::receipt_url(&e.key)),
    })
}

/// `GET /app/elections/<eid>/candidates/<cid>`: by header `ID`, else by file `candidate-<cid>.md`.
pub(crate) async fn candidate(
    ctx: ElectionCtx,
    PathParams((_, cid)): PathParams<(String, String)>,
) -> AppResult<Response> {
    let e = &ctx.election;
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
        layout: ctx.layout(c.name.clone()),
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
pub(crate) async fn results(ctx: ElectionCtx) -> AppResult<Response> {
    ctx.require_completed()?;
    render_ok(&ResultsPage {
        layout: ctx.layout(format!("Results | {}", ctx.election.name)),
        election: ctx.head(),
        results_html: ctx.election.results_html.clone(),
    })
}

/// `GET /app/elections/<eid>/admin/`: officer dashboard (basics).
pub(crate) async fn admin(officer: OfficerCtx) -> AppResult<Response> {
    let db = officer.state.db();
    let (voter_count, requests) = match officer.row {
        Some(id) => {
            let list = requests::list_for_election(db, id).await?;
            (voters::count(db, id).await?, list)
        }
        None => (0, Vec::new()),
    };
    let e = &officer.election;
    render_ok(&AdminPage {
        layout: officer.layout("Election Officer's Dashboard"),
        election: officer.head(),
        no_winners: e.no_winners.map(|n| n.to_string()).unwrap_or_default(),
        voter_count,
        synced: officer.row.is_some(),
        completed: officer.status() == Status::Completed,
        requests: requests.into_iter().map(RequestItem::from).collect(),
    })
}
