//! Casting, viewing and revoking a ballot (Elekto §4.6, §4.7; checklist 36–47, 62).
//!
//! URLs and form fields are Elekto's: `GET|POST /app/elections/<eid>/vote` with one
//! `candidate@<ID>=<rank>` field per candidate (rank 1…N, or 100000000 for "No opinion"),
//! `password` and `csrf_token`; `POST …/vote/view` and `POST …/vote/edit` with `password`;
//! `GET …/confirmation`.
//!
//! Guards, in order: logged in (302 to the login page) → election exists (404) → CSRF token
//! (POSTs, 400) → eligible (403 "Not Eligible") → running (403; vote and revoke only, a ballot
//! can be viewed at any time) → has / has not voted. Every check that can fail runs **before**
//! the KDF, so only an eligible voter with a well-formed request ever costs 512 MiB.
//!
//! The POST bodies are decoded only after the eligibility and status checks (the CSRF check
//! before them only looks for `csrf_token`), lazily and linearly: a ballot form may hold at most
//! [`max_ballot_fields`] fields (413 beyond), duplicates are found with a hash set, and view and
//! revoke read nothing but the first `password` field.
//!
//! Differences from Elekto (all listed in docs/compatibility.md):
//! * the ballot is validated: unknown candidates, ranks outside {1…N, 100000000}, a candidate
//!   ranked twice, or "No opinion" where `allow_no_opinion: false` → 400 with the form re-displayed
//!   with the voter's ranking kept; nothing is written;
//! * a candidate missing from the POST is stored as a "No opinion" row (every ballot has one row
//!   per candidate); where No opinion is not allowed, a missing candidate is an error instead;
//! * the form's default is "No opinion" (Elekto: N, so an untouched ballot ranked everyone tied
//!   last, #95); where No opinion is not allowed there is no default and the browser asks for a
//!   rank. A ballot that ranks every candidate equally (including all "No opinion") is
//!   re-displayed once with a warning and a checkbox (`confirm_all_equal`) to confirm it;
//! * an optional `password_confirm` field must match `password` (#86);
//! * the passphrase length is checked with the ballot, keeping the ranking (#86);
//! * view and revoke with an empty passphrase fail without running the KDF: an empty passphrase
//!   can never open a ballot (a ballot cast without one is sealed with a random passcode);
//! * schema-1 ballots (cast with Elekto 0.5, kept by `votebox migrate`) open with their
//!   passphrase again, through their Werkzeug hash (Elekto 0.6+ said "Incorrect password").
//! * the KDF is bounded (`kdf.rs`): a global semaphore, one request per user at a time (429), and
//!   at most 10 view/revoke passphrase attempts per user in 15 minutes (429).

use std::collections::HashSet;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use rand::Rng as _;
use votebox_core::crypto;
use votebox_core::meta::{Election, Status};
use votebox_db::ballots::{self, CastOutcome, NO_OPINION, RevokeOutcome};
use votebox_db::elections;
use zeroize::Zeroizing;

use super::{PathParams, found, parsed_election, snapshot};
use crate::app::AppState;
use crate::csrf::CsrfFormBody;
use crate::error::{AppError, AppResult};
use crate::kdf;
use crate::session::{CurrentUser, Session};
use crate::views::{ElectionHead, Layout, render, render_ok, shuffled_candidates};
use votebox_db::{ElectionId, VoterId};

pub(crate) const MSG_NOT_VOTED: &str = "You have not voted yet";
pub(crate) const MSG_WRONG_PASSPHRASE: &str =
    "Incorrect password, the password must match with the one used before";
pub(crate) const MSG_REVOKED: &str =
    "The old ballot is successfully deleted, please re-cast the ballot.";

// ----------------------------------------------------------------------------------------------
// Shared guards

/// `/app/elections/<key>`, the key percent-encoded as a path segment (a `Location` must be ASCII).
pub(crate) fn election_url(e: &Election) -> String {
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    format!(
        "/app/elections/{}",
        percent_encoding::utf8_percent_encode(&e.key, SEGMENT)
    )
}

/// The election's `election.id`, or `None` when sync has not added it yet.
pub(crate) async fn election_row_id(
    state: &AppState,
    e: &Election,
) -> AppResult<Option<ElectionId>> {
    Ok(elections::find_by_key(state.db(), &e.key)
        .await?
        .map(|r| r.id))
}

/// [`election_row_id`] for pages that must write: a missing row is a 503 page.
pub(crate) async fn require_row_id(state: &AppState, e: &Election) -> AppResult<ElectionId> {
    election_row_id(state, e).await?.ok_or_else(|| {
        AppError::message(
            StatusCode::SERVICE_UNAVAILABLE,
            "This election is not ready yet",
            "The election has not been added to the database yet. Please try again in a minute.",
        )
    })
}

#[derive(Template)]
#[template(path = "not_eligible.html")]
struct NotEligiblePage {
    layout: Layout,
    key: String,
    name: String,
}

/// Elekto's "Not Eligible | <name>" page, with status 403.
fn not_eligible(state: &AppState, session: &Session, e: &Election) -> AppResult<Response> {
    render(
        StatusCode::FORBIDDEN,
        &NotEligiblePage {
            layout: Layout::new(state, session, format!("Not Eligible | {}", e.name)),
            key: e.key.clone(),
            name: e.name.clone(),
        },
    )
}

/// The election is not running: no voting and no revoking.
fn voting_closed(e: &Election, status: Status) -> AppError {
    let (title, message) = match status {
        Status::Upcoming => (
            "Voting has not started yet",
            format!(
                "Voting in {} starts at {}.",
                e.name,
                crate::views::utc(e.start)
            ),
        ),
        _ => (
            "Voting is closed",
            format!(
                "Voting in {} ended at {}; ballots can no longer be cast or changed.",
                e.name,
                crate::views::utc(e.end)
            ),
        ),
    };
    AppError::message(StatusCode::FORBIDDEN, title, message)
}

fn already_voted(status: StatusCode) -> AppError {
    AppError::message(
        status,
        "You have already voted",
        "To re-cast your vote, please visit the election page.",
    )
}

// ----------------------------------------------------------------------------------------------
// The vote form

struct RankOption {
    value: String,
    label: String,
    selected: bool,
}

struct BallotLine {
    id: String,
    name: String,
    options: Vec<RankOption>,
}

#[derive(Template)]
#[template(path = "vote.html")]
struct VotePage {
    layout: Layout,
    election: ElectionHead,
    lines: Vec<BallotLine>,
    allow_no_opinion: bool,
    min_passcode_length: usize,
    csrf_token: String,
    errors: Vec<String>,
    /// Show the "I mean it" checkbox for a ballot that ranks every candidate equally.
    ask_all_equal: bool,
}

/// The form's lines, in `order` (candidate ids), each with `selected[id]` (or the default)
/// selected. Default: "No opinion" where allowed; else the empty "Choose a rank" option.
fn ballot_lines(e: &Election, order: &[String], selected: &[(String, String)]) -> Vec<BallotLine> {
    let n = e.candidates.len();
    order
        .iter()
        .filter_map(|id| e.candidate(id))
        .map(|c| {
            let chosen = selected
                .iter()
                .find(|(id, _)| *id == c.id)
                .map(|(_, v)| v.as_str());
            let default = if e.allow_no_opinion {
                NO_OPINION.to_string()
            } else {
                String::new()
            };
            let chosen = chosen.unwrap_or(&default);
            let mut options = Vec::with_capacity(n + 1);
            if e.allow_no_opinion {
                options.push(RankOption {
                    value: NO_OPINION.to_string(),
                    label: "No opinion".to_owned(),
                    selected: chosen == NO_OPINION.to_string(),
                });
            } else {
                options.push(RankOption {
                    value: String::new(),
                    label: "Choose a rank".to_owned(),
                    selected: chosen.is_empty(),
                });
            }
            for r in 1..=n {
                let value = r.to_string();
                options.push(RankOption {
                    selected: chosen == value,
                    label: value.clone(),
                    value,
                });
            }
            BallotLine {
                id: c.id.clone(),
                name: c.name.clone(),
                options,
            }
        })
        .collect()
}

fn vote_page(
    state: &AppState,
    session: &Session,
    e: &Election,
    lines: Vec<BallotLine>,
    errors: Vec<String>,
    ask_all_equal: bool,
) -> VotePage {
    VotePage {
        layout: Layout::new(state, session, format!("Vote | {}", e.name)),
        election: ElectionHead::new(e, state.now()),
        lines,
        allow_no_opinion: e.allow_no_opinion,
        min_passcode_length: state.config().min_passcode_length,
        csrf_token: session.csrf_token(),
        errors,
        ask_all_equal,
    }
}

/// `GET /app/elections/<eid>/vote`.
pub(crate) async fn vote_form(
    user: CurrentUser,
    State(state): State<AppState>,
    session: Session,
    PathParams(eid): PathParams<String>,
) -> AppResult<Response> {
    let snap = snapshot(&state)?;
    let e = parsed_election(&snap, &eid)?;
    if !e.is_eligible(&user.login) {
        return not_eligible(&state, &session, e);
    }
    let status = e.status(state.now());
    if status != Status::Running {
        return Err(voting_closed(e, status));
    }
    if let Some(id) = election_row_id(&state, e).await?
        && votebox_db::voters::has_voted(state.db(), user.id, &user.login, id).await?
    {
        return Err(already_voted(StatusCode::OK));
    }
    let order: Vec<String> = shuffled_candidates(e).into_iter().map(|c| c.id).collect();
    let lines = ballot_lines(e, &order, &[]);
    render_ok(&vote_page(&state, &session, e, lines, Vec::new(), false))
}

/// The vote POST, split into the ranking (in submission order), the passphrase and its
/// confirmation. Passphrases are wiped when dropped.
struct Submission {
    ranks: Vec<(String, String)>,
    password: Option<Zeroizing<String>>,
    password_confirm: Option<Zeroizing<String>>,
    confirm_all_equal: bool,
    /// Fields named `candidate@…` whose part after the last `@` was given twice.
    duplicates: Vec<String>,
}

/// Fields a ballot form may hold besides the candidates' (`csrf_token`, `password`,
/// `password_confirm`, `confirm_all_equal`, and room for a browser's or a script's extras).
const EXTRA_BALLOT_FIELDS: usize = 16;

/// The most fields a ballot form for `e` may hold: two per candidate (so a candidate sent twice
/// is still reported as such) plus [`EXTRA_BALLOT_FIELDS`].
fn max_ballot_fields(e: &Election) -> usize {
    2 * e.candidates.len() + EXTRA_BALLOT_FIELDS
}

/// Decodes a ballot form body into its fields, in order; more than `max` fields is a 413 and
/// nothing past the limit is decoded.
fn ballot_fields(body: &[u8], max: usize) -> AppResult<Vec<(String, String)>> {
    let mut fields = Vec::new();
    for (key, value) in url::form_urlencoded::parse(body) {
        if fields.len() == max {
            tracing::info!(max, "ballot form with too many fields refused");
            return Err(AppError::message(
                StatusCode::PAYLOAD_TOO_LARGE,
                "413 Payload Too Large",
                format!(
                    "The ballot form has too many fields (at most {max} for this election). \
                     Please use the voting form of this site."
                ),
            ));
        }
        fields.push((key.into_owned(), value.into_owned()));
    }
    Ok(fields)
}

fn split_submission(fields: Vec<(String, String)>) -> Submission {
    let mut s = Submission {
        ranks: Vec::new(),
        password: None,
        password_confirm: None,
        confirm_all_equal: false,
        duplicates: Vec::new(),
    };
    let mut seen: HashSet<String> = HashSet::new();
    for (key, value) in fields {
        match key.as_str() {
            "password" => s.password = Some(Zeroizing::new(value)),
            "password_confirm" => s.password_confirm = Some(Zeroizing::new(value)),
            "confirm_all_equal" => s.confirm_all_equal = !value.is_empty(),
            _ => {
                // Elekto: the part before the first `@` must be `candidate`; the candidate is
                // the part after the last `@`.
                let Some((prefix, _)) = key.split_once('@') else {
                    continue;
                };
                if prefix != "candidate" {
                    continue;
                }
                let id = key.rsplit('@').next().unwrap_or_default().to_owned();
                if seen.insert(id.clone()) {
                    s.ranks.push((id, value));
                } else {
                    s.duplicates.push(id);
                }
            }
        }
    }
    s
}

/// Checks the ranking against the election; returns one `(candidate, rank)` per candidate in
/// meta order, or the problems found.
fn validate_ranking(e: &Election, s: &Submission) -> Result<Vec<(String, i32)>, Vec<String>> {
    let n = e.candidates.len();
    let mut errors = Vec::new();
    for id in &s.duplicates {
        errors.push(format!("The candidate {id} was ranked more than once."));
    }
    let mut rows = Vec::with_capacity(n);
    for (id, raw) in &s.ranks {
        if e.candidate(id).is_none() {
            errors.push(format!("Unknown candidate: {id}."));
            continue;
        }
        let rank = if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
            None
        } else {
            raw.parse::<i32>().ok()
        };
        match rank {
            Some(NO_OPINION) if e.allow_no_opinion => rows.push((id.clone(), NO_OPINION)),
            Some(NO_OPINION) => errors.push(format!(
                "\"No opinion\" is not allowed in this election: please rank {id}."
            )),
            Some(r) if r >= 1 && (r as usize) <= n => rows.push((id.clone(), r)),
            _ if raw.is_empty() && !e.allow_no_opinion => {
                errors.push(format!("Please choose a rank for {id}."));
            }
            _ => errors.push(format!(
                "Invalid rank for {id}: choose a number from 1 to {n}{}.",
                if e.allow_no_opinion {
                    " or \"No opinion\""
                } else {
                    ""
                }
            )),
        }
    }
    // One row per candidate, in meta order; a missing candidate is "No opinion" where allowed.
    let mut ordered = Vec::with_capacity(n);
    for c in &e.candidates {
        match rows.iter().find(|(id, _)| *id == c.id) {
            Some(row) => ordered.push(row.clone()),
            None if s.ranks.iter().any(|(id, _)| *id == c.id) => {} // invalid, reported above
            None if e.allow_no_opinion => ordered.push((c.id.clone(), NO_OPINION)),
            None => errors.push(format!("Please choose a rank for {}.", c.id)),
        }
    }
    if errors.is_empty() {
        Ok(ordered)
    } else {
        Err(errors)
    }
}

/// The message when every candidate got the same rank (including all "No opinion").
fn all_equal_warning(rows: &[(String, i32)]) -> Option<String> {
    let first = rows.first()?.1;
    if rows.len() < 2 || rows.iter().any(|(_, r)| *r != first) {
        return None;
    }
    Some(if first == NO_OPINION {
        "Your ballot gives every candidate \"No opinion\", so it expresses no preference at all. \
         If that is what you want, tick the confirmation box and submit again."
            .to_owned()
    } else {
        "Your ballot gives every candidate the same rank, so it expresses no preference between \
         them. If that is what you want, tick the confirmation box and submit again."
            .to_owned()
    })
}

/// The secret that seals a ballot cast without a passphrase: 256 random bits nobody will ever
/// see, so that nobody (the database holder included) can open it. Elekto used a 6-digit code,
/// 10⁶ guesses away.
fn hidden_passcode() -> Zeroizing<String> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    rand::rng().fill(&mut bytes[..]);
    Zeroizing::new(hex::encode(bytes.as_slice()))
}

/// Voting may have closed while the request waited for the KDF: checked again just before a
/// cast or revoke is written.
fn still_running(state: &AppState, e: &Election) -> AppResult<()> {
    match e.status(state.now()) {
        Status::Running => Ok(()),
        status => Err(voting_closed(e, status)),
    }
}

/// `POST /app/elections/<eid>/vote`.
pub(crate) async fn vote_submit(
    user: CurrentUser,
    State(state): State<AppState>,
    session: Session,
    PathParams(eid): PathParams<String>,
    CsrfFormBody(body): CsrfFormBody,
) -> AppResult<Response> {
    let snap = snapshot(&state)?;
    let e = parsed_election(&snap, &eid)?;
    if !e.is_eligible(&user.login) {
        return not_eligible(&state, &session, e);
    }
    let status = e.status(state.now());
    if status != Status::Running {
        return Err(voting_closed(e, status));
    }
    let election_id = require_row_id(&state, e).await?;
    if votebox_db::voters::has_voted(state.db(), user.id, &user.login, election_id).await? {
        return Err(already_voted(StatusCode::CONFLICT));
    }
    let submission = split_submission(ballot_fields(&body, max_ballot_fields(e))?);
    drop(body);
    let Some(password) = submission.password.as_ref() else {
        return Err(AppError::BadRequest(
            "The form has no password field.".to_owned(),
        ));
    };

    // Validate everything, report every problem at once, keep the ranking.
    let mut errors = Vec::new();
    let min = state.config().min_passcode_length;
    let length = password.chars().count();
    if length > 0 && length < min {
        errors.push(format!(
            "Please enter a passphrase with minimum {min} characters"
        ));
    }
    if submission
        .password_confirm
        .as_ref()
        .is_some_and(|c| c.as_str() != password.as_str())
    {
        errors.push("The two passphrases do not match.".to_owned());
    }
    let rows = match validate_ranking(e, &submission) {
        Ok(rows) => Some(rows),
        Err(mut problems) => {
            errors.append(&mut problems);
            None
        }
    };
    let redisplay = |errors: Vec<String>, status: StatusCode, ask: bool| {
        let mut order: Vec<String> = submission.ranks.iter().map(|(id, _)| id.clone()).collect();
        for c in shuffled_candidates(e) {
            if !order.contains(&c.id) {
                order.push(c.id);
            }
        }
        let lines = ballot_lines(e, &order, &submission.ranks);
        render(status, &vote_page(&state, &session, e, lines, errors, ask))
    };
    let rows = match rows {
        Some(rows) if errors.is_empty() => rows,
        _ => return redisplay(errors, StatusCode::BAD_REQUEST, false),
    };
    if !submission.confirm_all_equal
        && let Some(warning) = all_equal_warning(&rows)
    {
        return redisplay(vec![warning], StatusCode::UNPROCESSABLE_ENTITY, true);
    }

    // Seal the ballot link (one Argon2i, off the async runtime, bounded).
    let claim = state.kdf().claim(user.id).ok_or_else(kdf::busy)?;
    let passcode = if password.is_empty() {
        hidden_passcode()
    } else {
        password.clone()
    };
    drop(submission);
    let salt = crypto::random_salt();
    let nonce = crypto::random_nonce();
    let ballot_voter = ballots::new_ballot_voter();
    let target = ballot_voter.clone();
    let blob = state
        .kdf()
        .run(claim, move || {
            crypto::encrypt_link(&passcode, &salt, &nonce, &target)
        })
        .await?
        .map_err(AppError::internal)?;

    still_running(&state, e)?;
    match ballots::cast(
        state.db(),
        &ballots::NewBallot {
            election_id,
            user_id: user.id,
            login: &user.login,
            rows: &rows,
            ballot_voter: &ballot_voter,
            salt: &salt,
            sealed_ballot_voter: &blob,
        },
    )
    .await?
    {
        CastOutcome::Cast => {
            crate::metrics::record_ballot_cast();
            tracing::info!(election = %e.key, "ballot cast");
            Ok(found(&format!("{}/confirmation", election_url(e))))
        }
        CastOutcome::AlreadyVoted => Err(already_voted(StatusCode::CONFLICT)),
    }
}

// ----------------------------------------------------------------------------------------------
// Confirmation

#[derive(Template)]
#[template(path = "confirmation.html")]
struct ConfirmationPage {
    layout: Layout,
    key: String,
    name: String,
}

/// `GET /app/elections/<eid>/confirmation`: the thank-you page once voted, else 302 to the
/// election page.
pub(crate) async fn confirmation(
    user: CurrentUser,
    State(state): State<AppState>,
    session: Session,
    PathParams(eid): PathParams<String>,
) -> AppResult<Response> {
    let snap = snapshot(&state)?;
    let e = parsed_election(&snap, &eid)?;
    let voted = match election_row_id(&state, e).await? {
        Some(id) => votebox_db::voters::has_voted(state.db(), user.id, &user.login, id).await?,
        None => false,
    };
    if !voted {
        return Ok(found(&election_url(e)));
    }
    render_ok(&ConfirmationPage {
        layout: Layout::new(
            &state,
            &session,
            format!("Thank you for voting in {}", e.name),
        ),
        key: e.key.clone(),
        name: e.name.clone(),
    })
}

// ----------------------------------------------------------------------------------------------
// View and revoke

/// The first `password` field of a view/revoke form body: `None` when absent, `Some("")` when
/// empty. Nothing else is decoded.
fn password_field(body: &[u8]) -> Option<Zeroizing<String>> {
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == "password")
        .map(|(_, v)| Zeroizing::new(v.into_owned()))
}

struct BallotEntry {
    id: String,
    name: String,
    known: bool,
    rank: String,
}

#[derive(Template)]
#[template(path = "ballot.html")]
struct BallotPage {
    layout: Layout,
    election: ElectionHead,
    entries: Vec<BallotEntry>,
    can_revoke: bool,
    csrf_token: String,
}

/// What opening the voter's link gave.
enum Opened {
    /// The ballot-voter uuid and the voter row it came from.
    Ok { uuid: String, voter_row: VoterId },
    /// Flash this and go back to the election page.
    Refused(&'static str),
}

/// Common to view and revoke: the voter row, then the passphrase through the KDF.
async fn open_ballot(
    state: &AppState,
    user: &CurrentUser,
    election_id: ElectionId,
    password: Option<Zeroizing<String>>,
) -> AppResult<Opened> {
    let Some(link) = ballots::voter_link(state.db(), user.id, election_id).await? else {
        return Ok(Opened::Refused(MSG_NOT_VOTED));
    };
    let password = password
        .ok_or_else(|| AppError::BadRequest("The form has no password field.".to_owned()))?;
    // An empty passphrase never sealed a ballot: no KDF needed.
    if password.is_empty() {
        return Ok(Opened::Refused(MSG_WRONG_PASSPHRASE));
    }
    // Every passphrase check, of either kind, counts against the user's attempts.
    let claim = state.kdf().claim(user.id).ok_or_else(kdf::busy)?;
    if !state.kdf().passphrase_attempt(user.id) {
        return Err(kdf::too_many_attempts());
    }
    // Legacy (schema 1, Elekto 0.5) rows have no salt: their ballot carries a Werkzeug hash.
    let (Some(salt), Some(blob)) = (link.salt, link.ballot_id) else {
        return open_v1_ballot(state, claim, user, election_id, link.id, password).await;
    };
    let opened = state
        .kdf()
        .run(claim, move || crypto::decrypt_link(&password, &salt, &blob))
        .await?;
    Ok(match opened {
        Ok(uuid) => Opened::Ok {
            uuid,
            voter_row: link.id,
        },
        Err(err) => {
            tracing::info!(error = %err, "ballot link did not open");
            Opened::Refused(MSG_WRONG_PASSPHRASE)
        }
    })
}

/// A schema-1 (Elekto 0.5) ballot, after `votebox migrate`: the voter row holds no link and
/// every row of the ballot carries `werkzeug.generate_password_hash(login + '+' + passphrase)`.
/// Found among the election's hashes as Elekto 0.5 did (one PBKDF2 per hash, ~50 ms each),
/// under the same limits as the KDF (the caller's claim and attempt count); the hash then stands
/// where a ballot-voter uuid goes.
async fn open_v1_ballot(
    state: &AppState,
    claim: kdf::UserClaim,
    user: &CurrentUser,
    election_id: ElectionId,
    voter_row: VoterId,
    password: Zeroizing<String>,
) -> AppResult<Opened> {
    let hashes = votebox_db::schema1_ballots::v1_ballot_voters(state.db(), election_id).await?;
    if hashes.is_empty() {
        return Ok(Opened::Refused(MSG_WRONG_PASSPHRASE));
    }
    let login = user.login.clone();
    let found = state
        .kdf()
        .run(claim, move || {
            votebox_core::schema1_link::find_v1_ballot(&hashes, &login, &password, 2)
                .map(str::to_owned)
        })
        .await?;
    Ok(match found {
        Some(uuid) => Opened::Ok { uuid, voter_row },
        None => Opened::Refused(MSG_WRONG_PASSPHRASE),
    })
}

fn refuse(session: &Session, e: &Election, message: &str) -> Response {
    session.flash(message);
    found(&election_url(e))
}

/// `POST /app/elections/<eid>/vote/view`: "Your Ballot", with the right passphrase.
pub(crate) async fn view(
    user: CurrentUser,
    State(state): State<AppState>,
    session: Session,
    PathParams(eid): PathParams<String>,
    CsrfFormBody(body): CsrfFormBody,
) -> AppResult<Response> {
    let snap = snapshot(&state)?;
    let e = parsed_election(&snap, &eid)?;
    if !e.is_eligible(&user.login) {
        return not_eligible(&state, &session, e);
    }
    let Some(election_id) = election_row_id(&state, e).await? else {
        return Ok(refuse(&session, e, MSG_NOT_VOTED));
    };
    let password = password_field(&body);
    let uuid = match open_ballot(&state, &user, election_id, password).await? {
        Opened::Ok { uuid, .. } => uuid,
        Opened::Refused(message) => return Ok(refuse(&session, e, message)),
    };
    let rows = ballots::ballot_rows(state.db(), election_id, &uuid).await?;
    let entries = rows
        .into_iter()
        .map(|(id, rank)| {
            let candidate = e.candidate(&id);
            BallotEntry {
                name: candidate.map(|c| c.name.clone()).unwrap_or_default(),
                known: candidate.is_some(),
                rank: match rank {
                    Some(NO_OPINION) | None => "No opinion".to_owned(),
                    Some(r) => r.to_string(),
                },
                id,
            }
        })
        .collect();
    let now = state.now();
    render_ok(&BallotPage {
        layout: Layout::new(&state, &session, format!("Your Ballot | {}", e.name)),
        election: ElectionHead::new(e, now),
        entries,
        can_revoke: e.status(now) == Status::Running,
        csrf_token: session.csrf_token(),
    })
}

/// `POST /app/elections/<eid>/vote/edit`: revokes the ballot (while running), with the right
/// passphrase; the voter may then vote again.
pub(crate) async fn revoke(
    user: CurrentUser,
    State(state): State<AppState>,
    session: Session,
    PathParams(eid): PathParams<String>,
    CsrfFormBody(body): CsrfFormBody,
) -> AppResult<Response> {
    let snap = snapshot(&state)?;
    let e = parsed_election(&snap, &eid)?;
    if !e.is_eligible(&user.login) {
        return not_eligible(&state, &session, e);
    }
    let status = e.status(state.now());
    if status != Status::Running {
        return Err(voting_closed(e, status));
    }
    let Some(election_id) = election_row_id(&state, e).await? else {
        return Ok(refuse(&session, e, MSG_NOT_VOTED));
    };
    let password = password_field(&body);
    let (uuid, voter_row) = match open_ballot(&state, &user, election_id, password).await? {
        Opened::Ok { uuid, voter_row } => (uuid, voter_row),
        Opened::Refused(message) => return Ok(refuse(&session, e, message)),
    };
    still_running(&state, e)?;
    match ballots::revoke(state.db(), election_id, user.id, voter_row, &uuid).await? {
        RevokeOutcome::Revoked { ballots } => {
            tracing::info!(election = %e.key, rows = ballots, "ballot revoked");
            Ok(refuse(&session, e, MSG_REVOKED))
        }
        RevokeOutcome::NotVoted => Ok(refuse(&session, e, MSG_NOT_VOTED)),
    }
}

#[cfg(test)]
#[path = "ballot_fuzz.rs"]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn submission_follows_elektos_field_rules() {
        let s = split_submission(fields(&[
            ("csrf_token", "t"),
            ("candidate@a", "1"),
            ("candidate@x@b", "2"),
            ("candidatex@c", "3"),
            ("other", "4"),
            ("candidate@a", "2"),
            ("password", "secret"),
        ]));
        assert_eq!(
            s.ranks,
            vec![
                ("a".to_owned(), "1".to_owned()),
                ("b".to_owned(), "2".to_owned())
            ]
        );
        assert_eq!(s.duplicates, vec!["a".to_owned()]);
        assert_eq!(s.password.as_deref().map(String::as_str), Some("secret"));
        assert!(s.password_confirm.is_none());
    }

    #[test]
    fn ballot_fields_are_capped() {
        let fields = ballot_fields(b"a=1&b=%20x+y&=&c", 4).expect("within the cap");
        assert_eq!(
            fields,
            vec![
                ("a".to_owned(), "1".to_owned()),
                ("b".to_owned(), " x y".to_owned()),
                (String::new(), String::new()),
                ("c".to_owned(), String::new()),
            ]
        );
        assert!(ballot_fields(b"a=1&b=2&c=3&d=4&e=5", 4).is_err());
        assert!(ballot_fields(b"", 0).expect("empty").is_empty());
    }

    #[test]
    fn many_duplicates_are_found_in_linear_time() {
        // 200 000 fields naming 100 000 candidates twice: a quadratic scan would take minutes.
        let fields: Vec<(String, String)> = (0..200_000)
            .map(|i| (format!("candidate@c{}", i % 100_000), "1".to_owned()))
            .collect();
        let started = std::time::Instant::now();
        let s = split_submission(fields);
        assert_eq!(s.ranks.len(), 100_000);
        assert_eq!(s.duplicates.len(), 100_000);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn all_equal_ballots_are_flagged() {
        let row = |c: &str, r: i32| (c.to_owned(), r);
        assert!(all_equal_warning(&[row("a", NO_OPINION), row("b", NO_OPINION)]).is_some());
        assert!(all_equal_warning(&[row("a", 2), row("b", 2)]).is_some());
        assert!(all_equal_warning(&[row("a", 1), row("b", 2)]).is_none());
        assert!(all_equal_warning(&[row("a", 1)]).is_none());
    }

    #[test]
    fn hidden_passcodes_carry_256_random_bits() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..100 {
            let p = hidden_passcode();
            assert_eq!(p.len(), 64);
            assert!(p.bytes().all(|b| b.is_ascii_hexdigit()));
            assert!(seen.insert(p.to_string()), "a passcode repeated");
        }
    }
}
