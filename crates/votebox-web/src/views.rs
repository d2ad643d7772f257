//! View models: one askama template struct per page, plus the shared [`Layout`].
//!
//! Text that comes from the meta repository is escaped by askama, except the Markdown HTML
//! (`description_html`, `results_html`, `body_html`), which votebox-core already sanitised.

use askama::Template;
use time::PrimitiveDateTime;
use votebox_core::meta::{Election, Status, display_datetime, display_utc};
use votebox_db::requests::RequestRow;

use crate::app::AppState;
use crate::error::ErrorPage;
use crate::session::{CurrentUser, Session};

/// What every page shares: instance name, page title, who is logged in, flash messages.
pub(crate) struct Layout {
    pub app_name: String,
    pub title: String,
    pub user: Option<CurrentUser>,
    pub flashes: Vec<String>,
    /// The session's CSRF token, for logged-in users (the nav's logout form).
    pub csrf_token: Option<String>,
    pub version: &'static str,
}

impl Layout {
    /// Builds the layout and takes the session's flash messages (they are shown once).
    pub fn new(state: &AppState, session: &Session, title: impl Into<String>) -> Layout {
        let user = session.user();
        let csrf_token = user.as_ref().map(|_| session.csrf_token());
        Layout {
            app_name: state.config().app_name.clone(),
            title: title.into(),
            user,
            flashes: session.take_flashes(),
            csrf_token,
            version: env!("CARGO_PKG_VERSION"),
        }
    }

    /// Elections list of the nav: the app list when logged in, else the public one.
    pub fn elections_href(&self) -> &'static str {
        if self.user.is_some() {
            "/app/elections"
        } else {
            "/elections"
        }
    }
}

// ----------------------------------------------------------------------------------------------
// Error and message pages

#[derive(Template)]
#[template(path = "message.html")]
pub(crate) struct MessagePage {
    pub layout: Layout,
    pub heading: String,
    pub message: String,
}

/// The HTML page for an [`ErrorPage`] (used by the error-page middleware).
pub(crate) fn error_page_html(layout: Layout, page: &ErrorPage) -> Result<String, askama::Error> {
    MessagePage {
        layout,
        heading: page.heading.clone(),
        message: page.message.clone(),
    }
    .render()
}

/// Fallback when even the error template fails: minimal, still escaped, still names the instance.
pub(crate) fn bare_error_html(app_name: &str, page: &ErrorPage) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{h} | {a}</title></head>\
         <body><h1>{h}</h1><p>{m}</p><p><a href=\"/app\">elekto ({a})</a></p></body></html>",
        h = esc(&page.heading),
        m = esc(&page.message),
        a = esc(app_name)
    )
}

// ----------------------------------------------------------------------------------------------
// Lists

/// One row of an election list or the dashboard.
pub(crate) struct ElectionItem {
    pub key: String,
    pub name: String,
    pub organization: String,
    pub status: &'static str,
    pub start: String,
    pub end: String,
    pub results_published: bool,
}

impl ElectionItem {
    pub fn new(e: &Election, now: PrimitiveDateTime) -> ElectionItem {
        ElectionItem {
            key: e.key.clone(),
            name: e.name.clone(),
            organization: e.organization.clone().unwrap_or_default(),
            status: e.status(now).as_str(),
            start: display_utc(e.start),
            end: display_utc(e.end),
            results_published: e.results_published(now),
        }
    }
}

pub(crate) struct BrokenItem {
    pub key: String,
}

#[derive(Template)]
#[template(path = "elections.html")]
pub(crate) struct ElectionsPage {
    pub layout: Layout,
    /// `/elections` or `/app/elections`.
    pub base: &'static str,
    pub status_filter: String,
    pub elections: Vec<ElectionItem>,
    pub broken: Vec<BrokenItem>,
}

impl ElectionsPage {
    /// The filter dropdown: (value, label).
    pub fn filters(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("completed", "Completed"),
            ("running", "Running"),
            ("upcoming", "Upcoming"),
        ]
    }

    pub fn selected(&self, value: &str) -> bool {
        self.status_filter == value
    }
}

#[derive(Template)]
#[template(path = "dashboard.html")]
pub(crate) struct DashboardPage {
    pub layout: Layout,
    pub welcome_name: String,
    pub running: Vec<ElectionItem>,
    pub voted: Vec<ElectionItem>,
}

// ----------------------------------------------------------------------------------------------
// Election pages

pub(crate) struct CandidateItem {
    pub id: String,
    pub name: String,
}

/// Name, organization, status badge and description: the head of every election page.
pub(crate) struct ElectionHead {
    pub key: String,
    pub name: String,
    pub organization: String,
    pub status: &'static str,
    pub description_html: String,
    pub start: String,
    pub end: String,
}

impl ElectionHead {
    pub fn new(e: &Election, now: PrimitiveDateTime) -> ElectionHead {
        ElectionHead {
            key: e.key.clone(),
            name: e.name.clone(),
            organization: e.organization.clone().unwrap_or_default(),
            status: e.status(now).as_str(),
            description_html: e.description_html.clone().unwrap_or_default(),
            start: display_utc(e.start),
            end: display_utc(e.end),
        }
    }
}

/// The candidates of `e` in a fresh random order (Elekto shuffles on every request).
pub(crate) fn shuffled_candidates(e: &Election) -> Vec<CandidateItem> {
    use rand::seq::SliceRandom as _;
    let mut list: Vec<CandidateItem> = e
        .candidates
        .iter()
        .map(|c| CandidateItem {
            id: c.id.clone(),
            name: c.name.clone(),
        })
        .collect();
    list.shuffle(&mut rand::rng());
    list
}

#[derive(Template)]
#[template(path = "public_election.html")]
pub(crate) struct PublicElectionPage {
    pub layout: Layout,
    pub election: ElectionHead,
    pub candidates: Vec<CandidateItem>,
    pub completed: bool,
    /// The ballot board, once the election has ended, when `ballot_board: public`.
    pub board_href: Option<String>,
}

#[derive(Template)]
#[template(path = "election.html")]
pub(crate) struct ElectionPage {
    pub layout: Layout,
    pub election: ElectionHead,
    pub candidates: Vec<CandidateItem>,
    pub eligible: bool,
    pub voted: bool,
    pub running: bool,
    pub completed: bool,
    pub results_published: bool,
    pub officer: bool,
    pub exception_due: String,
    pub csrf_token: String,
    /// "Check my receipt", once the election has ended, for those `ballot_board` lets check.
    pub receipt_check_href: Option<String>,
}

pub(crate) struct FieldItem {
    pub field: String,
    pub value: String,
}

#[derive(Template)]
#[template(path = "candidate.html")]
pub(crate) struct CandidatePage {
    pub layout: Layout,
    pub election_key: String,
    pub election_name: String,
    pub id: String,
    pub name: String,
    pub fields: Vec<FieldItem>,
    pub body_html: String,
}

#[derive(Template)]
#[template(path = "results.html")]
pub(crate) struct ResultsPage {
    pub layout: Layout,
    pub election: ElectionHead,
    pub results_html: Option<String>,
}

#[derive(Template)]
#[template(path = "admin.html")]
pub(crate) struct AdminPage {
    pub layout: Layout,
    pub election: ElectionHead,
    pub no_winners: String,
    pub voter_count: i64,
    pub synced: bool,
    /// Completed: show the results and export links.
    pub completed: bool,
    /// "Exception Requests" of this election, oldest first.
    pub requests: Vec<RequestItem>,
}

/// One line of the officer dashboard's "Exception Requests".
pub(crate) struct RequestItem {
    pub id: votebox_db::RequestId,
    pub name: String,
    pub email: String,
    pub chat: String,
    pub reviewed: bool,
    pub created_at: String,
}

impl From<RequestRow> for RequestItem {
    fn from(r: RequestRow) -> Self {
        RequestItem {
            id: r.id,
            reviewed: r.is_reviewed(),
            name: r.name.unwrap_or_default(),
            email: r.email.unwrap_or_default(),
            chat: r.chat.unwrap_or_default(),
            created_at: r.created_at.map(display_datetime).unwrap_or_default(),
        }
    }
}

// ----------------------------------------------------------------------------------------------
// Login

#[derive(Template)]
#[template(path = "login.html")]
pub(crate) struct LoginPage {
    pub layout: Layout,
    pub r: String,
    pub csrf_token: String,
    pub demo_logins: Option<Vec<String>>,
}

/// `Status` from a `?status=` value (Elekto accepts any string; unknown ones match nothing).
pub(crate) fn status_matches(filter: &str, status: Status) -> bool {
    filter.is_empty() || filter == status.as_str()
}
