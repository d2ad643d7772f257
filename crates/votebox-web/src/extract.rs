//! Request extractors: the one way into an election.
//!
//! * [`ElectionCtx`]: a logged-in user (302 to the login page otherwise) opens an election of the
//!   snapshot being served (503 while none is loaded) by its path key (404 when unknown, 500 page
//!   with the reason when its files are broken); its database row is looked up once.
//! * [`VoterCtx`]: and the user is on the voter list (403 "Not Eligible" page).
//! * [`OfficerCtx`]: and the user is an officer of the election (403 page).
//! * [`BoardCtx`]: an election's ballot board, logged in or not, as its `ballot_board` allows.
//!
//! A handler takes the narrowest of them, then does only its own checks (running, completed,
//! has voted…). Body extractors (`CsrfForm`, `CsrfFormBody`) come last in a handler's arguments,
//! so the token is checked after the role, and the body is read only for someone who may post.
//! [`PathParams`] and [`QueryParams`] are axum's `Path` and `Query` with votebox's error pages.

use std::ops::Deref;
use std::sync::Arc;

use askama::Template;
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use time::PrimitiveDateTime;
use votebox_core::meta::{Election, Status};
use votebox_core::results::StoredBallots;
use votebox_core::verify::{Board, BoardAccess};
use votebox_meta::Snapshot;

use crate::app::{AppState, Resolved, resolve};
use crate::error::{self, AppError, AppResult};
use crate::response::{election_url, found, render};
use crate::session::{CurrentUser, Session};
use crate::views::{ElectionHead, Layout, RequestState};
use votebox_db::ElectionId;

/// Like axum's `Path`, but a path that does not decode is a 404 page, not a plain-text 400.
#[derive(FromRequestParts)]
#[from_request(via(Path), rejection(AppError))]
pub(crate) struct PathParams<T>(pub T);

/// Like axum's `Query`, but errors are rendered as the 400 page.
#[derive(FromRequestParts)]
#[from_request(via(Query), rejection(AppError))]
pub(crate) struct QueryParams<T>(pub T);

/// The snapshot being served, or 503 when none is loaded yet.
pub(crate) fn snapshot(state: &AppState) -> AppResult<Arc<Snapshot>> {
    state.snapshot().ok_or(AppError::NotLoaded)
}

/// The election `key` of `snap`: 404 when discovery did not produce that key (so `..` and
/// friends never match), the broken-election page (500) when its files do not parse.
pub(crate) fn find_election(snap: &Snapshot, key: &str, details: bool) -> AppResult<Arc<Election>> {
    match resolve(&snap.catalog, key).ok_or(AppError::NotFound)? {
        Resolved::Ok(e) => Ok(Arc::clone(e)),
        Resolved::Broken(b) => Err(error::broken_election(b, details)),
    }
}

/// The `{eid}` of `/app/elections/{eid}/…` (other path parameters are the handler's).
#[derive(Deserialize)]
struct ElectionPath {
    eid: String,
}

/// A logged-in user on the page of an election (see the module docs).
pub(crate) struct ElectionCtx {
    pub state: AppState,
    pub session: Session,
    pub user: CurrentUser,
    pub election: Arc<Election>,
    /// `election.id`, or `None` while the sync has not added the election to the database.
    pub row: Option<ElectionId>,
}

impl FromRequestParts<AppState> for ElectionCtx {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let (ctx, _) = ElectionCtx::open(parts, state, RowLookup::Row).await?;
        Ok(ctx)
    }
}

/// What [`ElectionCtx::open`] reads from the database besides the snapshot.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RowLookup {
    /// The election's row id.
    Row,
    /// The row id and whether the user has voted, in one query.
    RowAndVoted,
}

impl ElectionCtx {
    /// Opens the election of the request path for the logged-in user; with
    /// [`RowLookup::RowAndVoted`], also whether they voted (`Some`).
    async fn open(
        parts: &mut Parts,
        state: &AppState,
        lookup: RowLookup,
    ) -> Result<(ElectionCtx, Option<bool>), Response> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        let opened = async {
            let session = Session::from_request_parts(parts, state).await?;
            let PathParams(ElectionPath { eid }) =
                PathParams::from_request_parts(parts, state).await?;
            let election = find_election(&*snapshot(state)?, &eid, true)?;
            let (db, key) = (state.db(), &election.key);
            let (row, voted) = match lookup {
                RowLookup::Row => {
                    let row = votebox_db::elections::find_by_key(db, key).await?;
                    (row.map(|r| r.id), None)
                }
                RowLookup::RowAndVoted => {
                    let found =
                        votebox_db::voters::election_and_voted(db, key, user.id, &user.login)
                            .await?;
                    // Not synced yet: not voted.
                    (found.map(|(id, _)| id), Some(found.is_some_and(|(_, v)| v)))
                }
            };
            let ctx = ElectionCtx {
                state: state.clone(),
                session,
                user,
                election,
                row,
            };
            Ok::<_, AppError>((ctx, voted))
        };
        opened.await.map_err(IntoResponse::into_response)
    }
}

/// An [`ElectionCtx`] and whether its user has voted there (as [`ElectionCtx::has_voted`]),
/// read with the election's row in one query: for pages that only show the voted state.
pub(crate) struct ElectionVotedCtx {
    pub ctx: ElectionCtx,
    pub voted: bool,
}

impl FromRequestParts<AppState> for ElectionVotedCtx {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let (ctx, voted) = ElectionCtx::open(parts, state, RowLookup::RowAndVoted).await?;
        Ok(ElectionVotedCtx {
            ctx,
            voted: voted.unwrap_or(false),
        })
    }
}

impl ElectionCtx {
    pub fn now(&self) -> PrimitiveDateTime {
        self.state.now()
    }

    pub fn status(&self) -> Status {
        self.election.status(self.now())
    }

    /// The page layout, titled `title` (takes the session's flash messages).
    pub fn layout(&self, title: impl Into<String>) -> Layout {
        Layout::new(&self.state, &self.session, title)
    }

    /// Name, status and description: the head of the election's pages.
    pub fn head(&self) -> ElectionHead {
        ElectionHead::new(&self.election, self.now())
    }

    /// The election page's URL.
    pub fn url(&self) -> String {
        election_url(&self.election.key)
    }

    /// Flashes `message` (a problem) and goes back to the election page.
    pub fn back_with(&self, message: &str) -> Response {
        self.session.flash(message);
        found(&self.url())
    }

    /// Flashes `message` (a confirmation) and goes back to the election page.
    pub fn back_with_notice(&self, message: &str) -> Response {
        self.session.notice(message);
        found(&self.url())
    }

    /// The database row, for pages that must write: 503 page while the sync has not added it.
    pub fn require_row(&self) -> AppResult<ElectionId> {
        self.row.ok_or_else(error::election_not_ready)
    }

    pub fn require_running(&self) -> AppResult<()> {
        match self.status() {
            Status::Running => Ok(()),
            status => Err(error::voting_closed(&self.election, status)),
        }
    }

    pub fn require_completed(&self) -> AppResult<()> {
        match self.status() {
            Status::Completed => Ok(()),
            _ => Err(error::not_completed()),
        }
    }

    /// Whether the user has voted here (their voter row, or their login's ballot cast by a
    /// previous holder of the login). Not synced yet: not voted.
    pub async fn has_voted(&self) -> AppResult<bool> {
        Ok(match self.row {
            Some(id) => {
                let (db, user) = (self.state.db(), &self.user);
                votebox_db::voters::has_voted(db, user.id, &user.login, id).await?
            }
            None => false,
        })
    }

    /// Whether the user's ballot here was cast without a passphrase (so it cannot be viewed or
    /// revoked). No voter row: false.
    pub async fn voted_without_passphrase(&self) -> AppResult<bool> {
        let Some(id) = self.row else {
            return Ok(false);
        };
        let link = votebox_db::ballots::voter_link(self.state.db(), self.user.id, id).await?;
        Ok(link.is_some_and(|l| l.cast_without_passphrase()))
    }

    /// The user's exception request here: none, pending or reviewed. A request filed under the
    /// same login by a previous holder of the login counts as pending.
    pub async fn request_state(&self) -> AppResult<RequestState> {
        let Some(id) = self.row else {
            return Ok(RequestState::None);
        };
        let (db, user) = (self.state.db(), &self.user);
        Ok(
            match votebox_db::requests::find_for(db, user.id, id).await? {
                Some(r) if r.is_reviewed() => RequestState::Reviewed,
                Some(_) => RequestState::Pending,
                None if votebox_db::requests::has_requested(db, user.id, &user.login, id)
                    .await? =>
                {
                    RequestState::Pending
                }
                None => RequestState::None,
            },
        )
    }
}

#[derive(Template)]
#[template(path = "not_eligible.html")]
struct NotEligiblePage {
    layout: Layout,
    key: String,
    name: String,
}

/// An [`ElectionCtx`] whose user is on the election's voter list.
pub(crate) struct VoterCtx(ElectionCtx);

impl FromRequestParts<AppState> for VoterCtx {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ctx = ElectionCtx::from_request_parts(parts, state).await?;
        if ctx.election.is_eligible(&ctx.user.login) {
            return Ok(VoterCtx(ctx));
        }
        // Elekto's "Not Eligible | <name>" page, with status 403.
        let page = NotEligiblePage {
            layout: ctx.layout(format!("Not Eligible | {}", ctx.election.name)),
            key: ctx.election.key.clone(),
            name: ctx.election.name.clone(),
        };
        Err(render(StatusCode::FORBIDDEN, &page).into_response())
    }
}

impl Deref for VoterCtx {
    type Target = ElectionCtx;

    fn deref(&self) -> &ElectionCtx {
        &self.0
    }
}

/// An [`ElectionCtx`] whose user is one of the election's officers.
pub(crate) struct OfficerCtx(ElectionCtx);

impl FromRequestParts<AppState> for OfficerCtx {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ctx = ElectionCtx::from_request_parts(parts, state).await?;
        if ctx.election.is_officer(&ctx.user.login) {
            Ok(OfficerCtx(ctx))
        } else {
            Err(error::not_officer().into_response())
        }
    }
}

impl Deref for OfficerCtx {
    type Target = ElectionCtx;

    fn deref(&self) -> &ElectionCtx {
        &self.0
    }
}

/// An election's ballot board and receipt check, opened as its `ballot_board` key allows
/// ([`BoardAccess`]): the election must exist (404) and have a board (`off` → 404); who may see
/// what is checked by the handler ([`BoardCtx::require_board`],
/// [`BoardCtx::require_receipt_check`]), so a public board needs no login.
pub(crate) struct BoardCtx {
    pub state: AppState,
    pub session: Session,
    /// The logged-in user, if any.
    pub user: Option<CurrentUser>,
    /// Where to log in and come back to this page.
    login_url: String,
    pub election: Arc<Election>,
    pub access: BoardAccess,
}

impl FromRequestParts<AppState> for BoardCtx {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let opened = async {
            let session = Session::from_request_parts(parts, state).await?;
            let user = session.user();
            let PathParams(ElectionPath { eid }) =
                PathParams::from_request_parts(parts, state).await?;
            let election = find_election(&*snapshot(state)?, &eid, user.is_some())?;
            let (access, _) = BoardAccess::of(&election);
            if access == BoardAccess::Off {
                return Err(AppError::NotFound);
            }
            Ok::<_, AppError>(BoardCtx {
                state: state.clone(),
                session,
                user,
                login_url: crate::session::login_redirect_location(parts, state),
                election,
                access,
            })
        };
        opened.await.map_err(IntoResponse::into_response)
    }
}

/// Why a board page is not shown: nobody is logged in (302 to the login page), or an error page.
pub(crate) enum BoardRefusal {
    Login(String),
    Page(AppError),
}

impl From<AppError> for BoardRefusal {
    fn from(e: AppError) -> Self {
        BoardRefusal::Page(e)
    }
}

impl IntoResponse for BoardRefusal {
    fn into_response(self) -> Response {
        match self {
            BoardRefusal::Login(location) => found(&location),
            BoardRefusal::Page(e) => e.into_response(),
        }
    }
}

impl BoardCtx {
    /// Public boards: anyone; else the logged-in user must pass `allowed` (the login page when
    /// nobody is logged in, `refusal` otherwise).
    fn require(
        &self,
        allowed: impl Fn(&str) -> bool,
        refusal: AppError,
    ) -> Result<(), BoardRefusal> {
        match &self.user {
            _ if self.access == BoardAccess::Public => Ok(()),
            None => Err(BoardRefusal::Login(self.login_url.clone())),
            Some(u) if allowed(&u.login) => Ok(()),
            Some(_) => Err(refusal.into()),
        }
    }

    /// The whole board: anyone when public, else the election's officers.
    pub fn require_board(&self) -> Result<(), BoardRefusal> {
        self.require(
            |login| self.election.is_officer(login),
            error::not_officer(),
        )
    }

    /// Checking a receipt: anyone when public, else the election's voters and officers.
    pub fn require_receipt_check(&self) -> Result<(), BoardRefusal> {
        let e = &self.election;
        self.require(
            |login| e.is_eligible(login) || e.is_officer(login),
            AppError::Forbidden(
                "Only this election's voters and officers can check receipts".to_owned(),
            ),
        )
    }

    /// The board exists once the election has ended.
    pub fn require_completed(&self) -> Result<(), BoardRefusal> {
        match self.election.status(self.state.now()) {
            Status::Completed => Ok(()),
            _ => Err(error::not_completed().into()),
        }
    }

    pub fn layout(&self, title: impl Into<String>) -> Layout {
        Layout::new(&self.state, &self.session, title)
    }

    pub fn head(&self) -> ElectionHead {
        ElectionHead::new(&self.election, self.state.now())
    }

    /// The board of the stored ballots (empty before the sync added the election).
    pub async fn board(&self) -> AppResult<Board> {
        let row = votebox_db::elections::find_by_key(self.state.db(), &self.election.key)
            .await?
            .map(|r| r.id);
        let (stored, _) = stored_ballots(&self.state, &self.election, row).await?;
        Ok(Board::new(&self.election, &stored))
    }
}

/// The election's ballots, grouped, and its number of voter rows (none before the sync).
pub(crate) async fn stored_ballots(
    state: &AppState,
    election: &Election,
    row: Option<ElectionId>,
) -> AppResult<(StoredBallots, i64)> {
    let ids: Vec<String> = election.candidates.iter().map(|c| c.id.clone()).collect();
    let Some(id) = row else {
        let none = Vec::<(String, String, Option<i64>)>::new();
        return Ok((StoredBallots::from_rows(&ids, none), 0));
    };
    let db = state.db();
    let rows = votebox_db::ballots::all_for_election(db, id).await?;
    let voters = votebox_db::voters::count(db, id).await?;
    let rows = rows
        .into_iter()
        .map(|(voter, cand, rank)| (voter, cand, rank.map(i64::from)));
    Ok((StoredBallots::from_rows(&ids, rows), voters))
}
