//! Logged-in pages under `/app`: dashboard, election list, election, candidate, results and the
//! officer dashboard. Every handler takes [`CurrentUser`] (or an election context, which starts
//! with it) first, so anonymous requests get the login redirect before anything else (Elekto's
//! auth guard).

use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use votebox_core::meta::Status;
use votebox_core::verify::BoardAccess;
use votebox_db::{requests, voters};

use super::public::{ListQuery, Viewer, list_page};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::extract::{
    ElectionCtx, ElectionVotedCtx, OfficerCtx, PathParams, QueryParams, snapshot,
};
use crate::response::{render_ok, to_slash_form};
use crate::session::{CurrentUser, Session};
use crate::views::{
    AdminPage, CandidatePage, DashboardPage, ElectionPage, FieldItem, Layout, RequestItem,
    ResultsPage, VoterStatus, When, shuffled_candidates,
};

/// `GET /app`: "Welcome!", then the running, upcoming and ended elections, each with the
/// user's status in it (Not eligible / Eligible / Voted).
pub(crate) async fn dashboard(
    user: CurrentUser,
    State(state): State<AppState>,
    session: Session,
) -> AppResult<Response> {
    let snap = snapshot(&state)?;
    let voted_keys = voters::voted_election_keys(state.db(), user.id).await?;
    let elections = snap.catalog.elections_newest_first();
    let [running, upcoming, ended] =
        DashboardPage::sections(&elections, state.now(), &user.login, &voted_keys);
    render_ok(&DashboardPage {
        layout: Layout::new(&state, &session, "Dashboard"),
        welcome_name: user.display_name().to_owned(),
        running,
        upcoming,
        ended,
    })
}

/// `GET /app/elections[?status=s]`.
pub(crate) async fn elections_list(
    user: CurrentUser,
    State(state): State<AppState>,
    session: Session,
    QueryParams(q): QueryParams<ListQuery>,
) -> AppResult<Response> {
    let voted_keys = voters::voted_election_keys(state.db(), user.id).await?;
    let viewer = Viewer {
        login: &user.login,
        voted_keys: &voted_keys,
    };
    list_page(
        &state,
        &session,
        "/app/elections",
        q.status.unwrap_or_default(),
        Some(viewer),
    )
}

/// `GET /app/elections/<eid>`: the election page (§4.5): status, dates, the user's status and
/// the main action first, then the description and the candidates.
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
    let no_passphrase = voted && ctx.voted_without_passphrase().await?;
    render_ok(&ElectionPage {
        layout: ctx.layout(e.name.clone()),
        election: ctx.head(),
        candidates: shuffled_candidates(e),
        voter: VoterStatus::of(e.is_eligible(login), voted),
        no_passphrase,
        running: status == Status::Running,
        completed: status == Status::Completed,
        results_published: e.results_published(ctx.now()),
        officer: e.is_officer(login),
        exception_due: When::new(e.exception_due),
        exceptions_open: ctx.now() <= e.exception_due,
        request: ctx.request_state().await?,
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
        info_note: c.info_note.clone(),
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

/// `GET /app/elections/<eid>/admin/`: officer dashboard: turnout (live while voting runs),
/// exception requests, and once completed the results and the two exports, with one seed.
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
        eligible: e.voters.as_ref().map(Vec::len),
        seed: super::results::random_seed(),
        synced: officer.row.is_some(),
        completed: officer.status() == Status::Completed,
        requests: requests.into_iter().map(RequestItem::from).collect(),
    })
}
