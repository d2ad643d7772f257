//! View models: one askama template struct per page, plus the shared [`Layout`].
//!
//! Text that comes from the meta repository is escaped by askama, except the Markdown HTML
//! (`description_html`, `results_html`, `body_html`), which votebox-core already sanitised.

use askama::Template;
use time::PrimitiveDateTime;
use votebox_core::meta::{
    Election, Status, anywhere_on_earth_day, display_minutes_utc, display_utc,
};
use votebox_db::requests::RequestRow;

use crate::app::AppState;
use crate::error::ErrorPage;
use crate::session::{CurrentUser, Session};

/// What every page shares: instance name, page title, who is logged in, flash messages.
pub(crate) struct Layout {
    pub app_name: String,
    pub title: String,
    pub user: Option<CurrentUser>,
    /// Messages about a problem (`role="alert"`).
    pub flashes: Vec<String>,
    /// Messages confirming what was done (`role="status"`).
    pub notices: Vec<String>,
    /// The session's CSRF token, for logged-in users (the nav's logout form).
    pub csrf_token: Option<String>,
    pub version: &'static str,
}

impl Layout {
    /// Builds the layout and takes the session's flash messages (they are shown once).
    pub fn new(state: &AppState, session: &Session, title: impl Into<String>) -> Layout {
        let user = session.user();
        let csrf_token = user.as_ref().map(|_| session.csrf_token());
        let (flashes, notices) = session.take_flashes();
        Layout {
            app_name: state.config().app_name.clone(),
            title: title.into(),
            user,
            flashes,
            notices,
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

/// A moment of an election as pages show it: UTC text (the truth, without JavaScript), an
/// ISO form for `<time datetime>` (which `static/js/local-time.js` turns into the reader's local
/// time and a countdown), and the Anywhere-on-Earth day when the moment is written that way.
#[derive(Debug, Clone)]
pub(crate) struct When {
    pub utc: String,
    pub iso: String,
    pub aoe: Option<String>,
}

impl When {
    pub fn new(dt: PrimitiveDateTime) -> When {
        When {
            utc: display_utc(dt),
            iso: format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                dt.year(),
                u8::from(dt.month()),
                dt.day(),
                dt.hour(),
                dt.minute(),
                dt.second()
            ),
            aoe: anywhere_on_earth_day(dt).map(|d| {
                format!(
                    "end of {:04}-{:02}-{:02} Anywhere on Earth",
                    d.year(),
                    u8::from(d.month()),
                    d.day()
                )
            }),
        }
    }

    /// `<time>` markup: the UTC text, then the Anywhere-on-Earth day if any. Our own digits
    /// only, so it is safe to insert unescaped.
    pub fn html(&self) -> String {
        let mut out = format!(
            "<time datetime=\"{}\" data-local>{}</time>",
            self.iso, self.utc
        );
        if let Some(aoe) = &self.aoe {
            out.push_str(&format!(" <span class=\"aoe\">({aoe})</span>"));
        }
        out
    }
}

impl std::fmt::Display for When {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.utc)
    }
}

/// Where a signed-in user stands in an election (Elekto #50): three states, one badge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VoterStatus {
    NotEligible,
    Eligible,
    /// Has a ballot (also when no longer on the voter list).
    Voted,
}

impl VoterStatus {
    pub fn of(eligible: bool, voted: bool) -> VoterStatus {
        match (eligible, voted) {
            (_, true) => VoterStatus::Voted,
            (true, false) => VoterStatus::Eligible,
            (false, false) => VoterStatus::NotEligible,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            VoterStatus::NotEligible => "Not eligible",
            VoterStatus::Eligible => "Eligible",
            VoterStatus::Voted => "Voted",
        }
    }

    /// CSS class of the badge.
    pub fn class(self) -> &'static str {
        match self {
            VoterStatus::NotEligible => "not-eligible",
            VoterStatus::Eligible => "eligible",
            VoterStatus::Voted => "voted",
        }
    }

    pub fn voted(self) -> bool {
        self == VoterStatus::Voted
    }

    pub fn eligible(self) -> bool {
        self == VoterStatus::Eligible
    }
}

/// One row of an election list or the dashboard.
pub(crate) struct ElectionItem {
    pub key: String,
    pub name: String,
    pub organization: String,
    pub status: &'static str,
    pub start: When,
    pub end: When,
    pub results_published: bool,
    /// The signed-in user's status (`None` on public pages).
    pub voter: Option<VoterStatus>,
    pub officer: bool,
}

impl ElectionItem {
    pub fn new(e: &Election, now: PrimitiveDateTime) -> ElectionItem {
        ElectionItem {
            key: e.key.clone(),
            name: e.name.clone(),
            organization: e.organization.clone().unwrap_or_default(),
            status: e.status(now).as_str(),
            start: When::new(e.start),
            end: When::new(e.end),
            results_published: e.results_published(now),
            voter: None,
            officer: false,
        }
    }

    /// The row as `login` sees it, who has voted in the elections `voted_keys`.
    pub fn for_user(
        e: &Election,
        now: PrimitiveDateTime,
        login: &str,
        voted_keys: &[String],
    ) -> ElectionItem {
        let voted = voted_keys.binary_search(&e.key).is_ok();
        ElectionItem {
            voter: Some(VoterStatus::of(e.is_eligible(login), voted)),
            officer: e.is_officer(login),
            ..ElectionItem::new(e, now)
        }
    }

    /// Running, and the user is on the list and has not voted: the Vote button.
    pub fn can_vote(&self) -> bool {
        self.voter == Some(VoterStatus::Eligible) && self.status == "running"
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
    /// Running elections (every one: a user not on the list may still ask for an exception).
    pub running: Vec<ElectionItem>,
    pub upcoming: Vec<ElectionItem>,
    /// Completed elections the user could vote in, voted in, or is an officer of.
    pub ended: Vec<ElectionItem>,
}

impl DashboardPage {
    /// Sorts `elections` (newest first) into the dashboard's sections, as `login` sees them.
    pub fn sections(
        elections: &[&Election],
        now: PrimitiveDateTime,
        login: &str,
        voted_keys: &[String],
    ) -> [Vec<ElectionItem>; 3] {
        let (mut running, mut upcoming, mut ended) = (Vec::new(), Vec::new(), Vec::new());
        for e in elections {
            let item = ElectionItem::for_user(e, now, login, voted_keys);
            match e.status(now) {
                Status::Running => running.push(item),
                Status::Upcoming => upcoming.push(item),
                Status::Completed => {
                    if item.officer || item.voter != Some(VoterStatus::NotEligible) {
                        ended.push(item);
                    }
                }
            }
        }
        [running, upcoming, ended]
    }
}

// ----------------------------------------------------------------------------------------------
// Election pages

pub(crate) struct CandidateItem {
    pub id: String,
    pub name: String,
}

/// Name, organization, status badge, dates and description: the head of every election page.
pub(crate) struct ElectionHead {
    pub key: String,
    pub name: String,
    pub organization: String,
    pub status: &'static str,
    pub description_html: String,
    pub start: When,
    pub end: When,
}

impl ElectionHead {
    pub fn new(e: &Election, now: PrimitiveDateTime) -> ElectionHead {
        ElectionHead {
            key: e.key.clone(),
            name: e.name.clone(),
            organization: e.organization.clone().unwrap_or_default(),
            status: e.status(now).as_str(),
            description_html: e.description_html.clone().unwrap_or_default(),
            start: When::new(e.start),
            end: When::new(e.end),
        }
    }

    /// What the status means now, in one sentence, and the moment a countdown counts to.
    pub fn timing(&self) -> (String, Option<&When>) {
        match self.status {
            "upcoming" => (
                format!("Voting opens {}.", self.start.html()),
                Some(&self.start),
            ),
            "running" => (
                format!("Voting is open until {}.", self.end.html()),
                Some(&self.end),
            ),
            _ => (format!("Voting closed on {}.", self.end.html()), None),
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

/// A user's exception request in an election, as they see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestState {
    None,
    Pending,
    Reviewed,
}

#[derive(Template)]
#[template(path = "election.html")]
pub(crate) struct ElectionPage {
    pub layout: Layout,
    pub election: ElectionHead,
    pub candidates: Vec<CandidateItem>,
    pub voter: VoterStatus,
    /// Voted without a passphrase: nothing to view or revoke.
    pub no_passphrase: bool,
    pub running: bool,
    pub completed: bool,
    pub results_published: bool,
    pub officer: bool,
    pub exception_due: When,
    /// Exception requests are accepted now (before `exception_due`).
    pub exceptions_open: bool,
    pub request: RequestState,
    pub csrf_token: String,
    /// "Check my receipt", once the election has ended, for those `ballot_board` lets check.
    pub receipt_check_href: Option<String>,
}

impl ElectionPage {
    /// Offer the exception form: requests accepted, not eligible, none filed yet.
    pub fn invite_exception(&self) -> bool {
        self.exceptions_open
            && self.voter == VoterStatus::NotEligible
            && self.request == RequestState::None
    }
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
    /// Why some of the candidate's `info` could not be read (shown as a note, Elekto #85).
    pub info_note: Option<String>,
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
    /// Size of the voter list (`None` without voters.yaml).
    pub eligible: Option<usize>,
    /// One export seed for the CSV and the draft, so the draft's SHA-256 is the CSV's.
    pub seed: String,
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
            created_at: r.created_at.map(display_minutes_utc).unwrap_or_default(),
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
