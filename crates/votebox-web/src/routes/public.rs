//! Pages anyone may see: `/`, `/elections`, `/elections/<eid>`.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use votebox_core::meta::Status;
use votebox_core::verify::BoardAccess;

use crate::app::AppState;
use crate::error::AppResult;
use crate::extract::{PathParams, QueryParams, find_election, snapshot};
use crate::response::{found, render_ok};
use crate::session::Session;
use crate::views::{
    BrokenItem, ElectionHead, ElectionItem, ElectionsPage, Layout, PublicElectionPage,
    shuffled_candidates, status_matches,
};

/// `GET /` → 302 `/app`.
pub(crate) async fn root() -> Response {
    found("/app")
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    pub(crate) status: Option<String>,
}

/// `GET /elections[?status=s]`.
pub(crate) async fn elections(
    State(state): State<AppState>,
    session: Session,
    QueryParams(q): QueryParams<ListQuery>,
) -> AppResult<Response> {
    list_page(
        &state,
        &session,
        "/elections",
        q.status.unwrap_or_default(),
        None,
    )
}

/// The signed-in user looking at a list: their login and the elections they voted in (sorted).
pub(crate) struct Viewer<'a> {
    pub login: &'a str,
    pub voted_keys: &'a [String],
}

/// The election list shared by `/elections` and `/app/elections`: sorted by start, newest first
/// (stable), filtered by exact status, each with the `viewer`'s status in it when signed in.
/// Broken elections are listed apart, without details.
pub(crate) fn list_page(
    state: &AppState,
    session: &Session,
    base: &'static str,
    status_filter: String,
    viewer: Option<Viewer<'_>>,
) -> AppResult<Response> {
    let snap = snapshot(state)?;
    let now = state.now();
    let elections = snap
        .catalog
        .elections_newest_first()
        .into_iter()
        .filter(|e| status_matches(&status_filter, e.status(now)))
        .map(|e| match &viewer {
            Some(v) => ElectionItem::for_user(e, now, v.login, v.voted_keys),
            None => ElectionItem::new(e, now),
        })
        .collect();
    let broken = if status_filter.is_empty() {
        snap.catalog
            .broken()
            .map(|b| BrokenItem { key: b.key.clone() })
            .collect()
    } else {
        Vec::new()
    };
    render_ok(&ElectionsPage {
        layout: Layout::new(state, session, "Elections"),
        base,
        status_filter,
        elections,
        broken,
    })
}

/// `GET /elections/<eid>`: public election page.
pub(crate) async fn election(
    State(state): State<AppState>,
    session: Session,
    PathParams(eid): PathParams<String>,
) -> AppResult<Response> {
    // Anyone may look: a broken election's page gives no details.
    let e = find_election(&*snapshot(&state)?, &eid, false)?;
    let now = state.now();
    let completed = e.status(now) == Status::Completed;
    let public_board = BoardAccess::of(&e).0 == BoardAccess::Public;
    render_ok(&PublicElectionPage {
        layout: Layout::new(&state, &session, e.name.clone()),
        election: ElectionHead::new(&e, now),
        candidates: shuffled_candidates(&e),
        completed,
        board_href: (completed && public_board).then(|| super::board::board_url(&e.key)),
    })
}
