//! Casting, viewing and revoking a ballot (Elekto §4.6, §4.7; checklist 36–47, 62).
//!
//! URLs and form fields are Elekto's: `GET|POST /app/elections/<eid>/vote` with one
//! `candidate@<ID>=<rank>` field per candidate (rank 1…N, or 100000000 for "No opinion"),
//! `password` and `csrf_token`; `POST …/vote/view` and `POST …/vote/edit` with `password`;
//! `GET …/confirmation`.
//!
//! Guards, in order: logged in (302 to the login page) → election exists (404) → eligible (403
//! "Not Eligible", [`VoterCtx`]) → CSRF token (POSTs, 400) → running (403; vote and revoke only,
//! a ballot can be viewed at any time) → has / has not voted. Every check that can fail runs
//! **before** the KDF, so only an eligible voter with a well-formed request ever costs 512 MiB.
//!
//! The POST bodies are decoded only after the eligibility and status checks (the CSRF check
//! before them only looks for `csrf_token`), lazily and linearly: a ballot form may hold at most
//! [`votebox_core::ballot::max_fields`] fields (413 beyond), and view and revoke read nothing but
//! the first `password` field. What a valid ballot is, is votebox-core's
//! ([`votebox_core::ballot`]); this module decodes, asks, and answers.
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
//! * a ballot cast without a passphrase stores no link (zero salt and link,
//!   [`ballots::NO_PASSPHRASE_SALT`]) and costs no KDF; view and revoke say it cannot be opened,
//!   and with an empty passphrase they fail without running the KDF;
//! * schema-1 ballots (cast with Elekto 0.5, kept by `votebox migrate`) open with their
//!   passphrase again, through their Werkzeug hash (Elekto 0.6+ said "Incorrect password").
//! * the KDF is bounded (`kdf.rs`): a global semaphore, one request per user at a time (429), and
//!   at most 10 view/revoke passphrase attempts per user in 15 minutes (429).
//!
//! A STAR election (`voting_method: star`) has a score ballot: the same `candidate@<ID>`
//! fields, as six radio buttons (0–5 stars) per candidate, stored in the same rows with the
//! stars in the `rank` column; view, revoke, recast and the passphrase link are unchanged.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use votebox_core::ballot::{BallotForm, BallotKind, MAX_STARS, NO_OPINION, ValidBallot, kind_of};
use votebox_core::crypto;
use votebox_core::meta::{Election, Status, display_utc};
use votebox_core::verify::{BoardAccess, Receipt};
use votebox_db::ballots::{self, CastOutcome, RevokeOutcome};
use zeroize::Zeroizing;

use crate::csrf::CsrfFormBody;
use crate::error::{self, AppError, AppResult};
use crate::extract::{ElectionCtx, VoterCtx};
use crate::kdf;
use crate::response::{found, render, render_ok};
use crate::views::{ElectionHead, Layout, shuffled_candidates};
use votebox_db::{ElectionId, VoterId};

pub(crate) const MSG_NOT_VOTED: &str = "You have not voted yet";
pub(crate) const MSG_WRONG_PASSPHRASE: &str =
    "Incorrect passphrase: it must be the passphrase you chose when you voted.";
pub(crate) const MSG_NO_PASSPHRASE: &str =
    "This ballot was cast without a passphrase: nobody, you included, can view or revoke it.";
pub(crate) const MSG_REVOKED: &str =
    "The old ballot is successfully deleted, please re-cast the ballot.";

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

/// A reason the submitted form came back, tied to the field it is about (`aria-describedby`).
struct FormError {
    /// `error-<n>`: the message's element id.
    id: String,
    message: String,
    /// The candidate it is about, if any.
    candidate: Option<String>,
    /// It is about the passphrase fields.
    passphrase: bool,
}

fn form_errors(messages: Vec<(String, Option<String>, bool)>) -> Vec<FormError> {
    messages
        .into_iter()
        .enumerate()
        .map(|(i, (message, candidate, passphrase))| FormError {
            id: format!("error-{}", i + 1),
            message,
            candidate,
            passphrase,
        })
        .collect()
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
    errors: Vec<FormError>,
    /// Show the "I mean it" checkbox for a ballot that ranks every candidate equally.
    ask_all_equal: bool,
    /// A score (STAR) ballot: radio buttons for 0–5 stars instead of rank menus.
    score: bool,
}

impl VotePage {
    /// ` aria-invalid="true" aria-describedby="…"` for the rank of `candidate` (empty if fine).
    fn candidate_attrs(&self, candidate: &str) -> String {
        self.attrs(|e| e.candidate.as_deref() == Some(candidate))
    }

    /// The same for the passphrase fields.
    fn passphrase_attrs(&self) -> String {
        self.attrs(|e| e.passphrase)
    }

    fn attrs(&self, about: impl Fn(&FormError) -> bool) -> String {
        let ids: Vec<&str> = self
            .errors
            .iter()
            .filter(|e| about(e))
            .map(|e| e.id.as_str())
            .collect();
        if ids.is_empty() {
            String::new()
        } else {
            format!(
                " aria-invalid=\"true\" aria-describedby=\"{}\"",
                ids.join(" ")
            )
        }
    }
}

/// The form's lines, in `order` (candidate ids), each with `selected[id]` (or the default)
/// selected. Default: "No opinion" where allowed; else the empty "Choose a rank" option.
fn ballot_lines(e: &Election, order: &[String], selected: &[(String, String)]) -> Vec<BallotLine> {
    if kind_of(e) == BallotKind::Score {
        return score_lines(e, order, selected);
    }
    let n = e.candidates.len();
    let no_opinion = NO_OPINION.to_string();
    let (default_value, default_label) = if e.allow_no_opinion {
        (no_opinion.as_str(), "No opinion")
    } else {
        ("", "Choose a rank")
    };
    order
        .iter()
        .filter_map(|id| e.candidate(id))
        .map(|c| {
            let chosen = chosen_value(selected, &c.id, default_value);
            let option = |value: &str, label: &str| RankOption {
                value: value.to_owned(),
                label: label.to_owned(),
                selected: chosen == value,
            };
            let mut options = Vec::with_capacity(n + 1);
            options.push(option(default_value, default_label));
            for r in 1..=n {
                let value = r.to_string();
                options.push(option(&value, &value));
            }
            BallotLine {
                id: c.id.clone(),
                name: c.name.clone(),
                options,
            }
        })
        .collect()
}

/// The score form's lines: 0 to 5 stars per candidate, `selected[id]` (default 0) checked.
fn score_lines(e: &Election, order: &[String], selected: &[(String, String)]) -> Vec<BallotLine> {
    order
        .iter()
        .filter_map(|id| e.candidate(id))
        .map(|c| {
            let chosen = chosen_value(selected, &c.id, "0");
            let options = (0..=MAX_STARS)
                .map(|s| RankOption {
                    value: s.to_string(),
                    label: stars_label(s),
                    selected: chosen == s.to_string(),
                })
                .collect();
            BallotLine {
                id: c.id.clone(),
                name: c.name.clone(),
                options,
            }
        })
        .collect()
}

/// The value submitted for candidate `id`, else `default`.
fn chosen_value<'a>(selected: &'a [(String, String)], id: &str, default: &'a str) -> &'a str {
    selected
        .iter()
        .find(|(candidate, _)| candidate == id)
        .map_or(default, |(_, v)| v.as_str())
}

/// "1 star", "3 stars".
fn stars_label(stars: i32) -> String {
    if stars == 1 {
        "1 star".to_owned()
    } else {
        format!("{stars} stars")
    }
}

/// The vote form; `errors` (and the all-equal checkbox) when a submitted ballot is shown again.
fn vote_page(
    voter: &VoterCtx,
    lines: Vec<BallotLine>,
    errors: Vec<FormError>,
    ask_all_equal: bool,
) -> VotePage {
    VotePage {
        layout: voter.layout(format!("Vote | {}", voter.election.name)),
        election: voter.head(),
        lines,
        allow_no_opinion: voter.election.allow_no_opinion,
        min_passcode_length: voter.state.config().min_passcode_length,
        csrf_token: voter.session.csrf_token(),
        errors,
        ask_all_equal,
        score: kind_of(&voter.election) == BallotKind::Score,
    }
}

/// `GET /app/elections/<eid>/vote`.
pub(crate) async fn vote_form(voter: VoterCtx) -> AppResult<Response> {
    voter.require_running()?;
    if voter.has_voted().await? {
        return Err(error::already_voted(StatusCode::OK));
    }
    let order: Vec<String> = shuffled_candidates(&voter.election)
        .into_iter()
        .map(|c| c.id)
        .collect();
    let lines = ballot_lines(&voter.election, &order, &[]);
    render_ok(&vote_page(&voter, lines, Vec::new(), false))
}

/// The fields of a form body, decoded one at a time as they are read.
fn form_fields(body: &[u8]) -> impl Iterator<Item = (String, String)> + '_ {
    url::form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned()))
}

/// Why a submitted ballot form is shown again instead of cast.
struct FormAgain {
    status: StatusCode,
    /// (message, candidate it is about, about the passphrase).
    messages: Vec<(String, Option<String>, bool)>,
    /// Ask to confirm a ballot that ranks every candidate equally.
    ask_all_equal: bool,
}

/// The form's valid ranking; else why it goes back to the voter: every problem (400), or a
/// ballot that ranks every candidate equally and was not confirmed (422).
fn checked_ranking(voter: &VoterCtx, form: &BallotForm) -> Result<ValidBallot, FormAgain> {
    let min_length = voter.state.config().min_passcode_length;
    let ranking = form
        .validate(&voter.election, min_length)
        .map_err(|problems| FormAgain {
            status: StatusCode::BAD_REQUEST,
            messages: problems
                .iter()
                .map(|p| {
                    let candidate = p.candidate().map(str::to_owned);
                    (p.to_string(), candidate, p.is_passphrase())
                })
                .collect(),
            ask_all_equal: false,
        })?;
    match ranking.all_equal() {
        Some(warning) if !form.confirm_all_equal => Err(FormAgain {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            messages: vec![(warning.to_string(), None, false)],
            ask_all_equal: true,
        }),
        _ => Ok(ranking),
    }
}

/// The submitted form shown again, the voter's ranking kept (the candidates the voter ranked
/// first, in their order, then the others shuffled).
fn show_again(voter: &VoterCtx, form: &BallotForm, again: FormAgain) -> AppResult<Response> {
    let mut order: Vec<String> = form.ranks.iter().map(|(id, _)| id.clone()).collect();
    for c in shuffled_candidates(&voter.election) {
        if !order.contains(&c.id) {
            order.push(c.id);
        }
    }
    let lines = ballot_lines(&voter.election, &order, &form.ranks);
    let page = vote_page(
        voter,
        lines,
        form_errors(again.messages),
        again.ask_all_equal,
    );
    render(again.status, &page)
}

/// `POST /app/elections/<eid>/vote`.
pub(crate) async fn vote_submit(
    voter: VoterCtx,
    CsrfFormBody(body): CsrfFormBody,
) -> AppResult<Response> {
    voter.require_running()?;
    let election_id = voter.require_row()?;
    if voter.has_voted().await? {
        return Err(error::already_voted(StatusCode::CONFLICT));
    }
    let form = BallotForm::parse(&voter.election, form_fields(&body))
        .map_err(error::too_many_ballot_fields)?;
    drop(body);
    if form.passphrase.is_none() {
        return Err(error::no_password_field());
    }
    let ranking = match checked_ranking(&voter, &form) {
        Ok(ranking) => ranking,
        Err(again) => return show_again(&voter, &form, again),
    };
    let link = seal_link(&voter, form).await?;
    voter.require_running()?; // voting may have closed while the request waited for the KDF
    match cast(&voter, election_id, &ranking, &link).await? {
        CastOutcome::Cast => {
            crate::metrics::record_ballot_cast();
            // Not logged: the receipt goes only into this voter's encrypted session cookie.
            let key = &voter.election.key;
            let receipt = Receipt::of(key, &link.ballot_voter);
            voter.session.set_receipt(key, receipt.to_string());
            tracing::info!(election = %voter.election.key, "ballot cast");
            Ok(found(&format!("{}/confirmation", voter.url())))
        }
        CastOutcome::AlreadyVoted => Err(error::already_voted(StatusCode::CONFLICT)),
    }
}

/// A new ballot-voter uuid, sealed for the voter row with the passphrase.
struct SealedLink {
    ballot_voter: String,
    salt: [u8; crypto::SALT_LEN],
    sealed: Vec<u8>,
}

/// Writes the ballot rows and the voter row, unless the user has voted meanwhile.
async fn cast(
    voter: &VoterCtx,
    election_id: ElectionId,
    ranking: &ValidBallot,
    link: &SealedLink,
) -> AppResult<CastOutcome> {
    let (db, user) = (voter.state.db(), &voter.user);
    let rows = ranking.rows();
    let ballot = ballots::NewBallot {
        election_id,
        user_id: user.id,
        login: &user.login,
        rows,
        ballot_voter: &link.ballot_voter,
        salt: &link.salt,
        sealed_ballot_voter: &link.sealed,
    };
    Ok(ballots::cast(db, &ballot).await?)
}

/// Seals a new ballot link with the form's passphrase (one Argon2i, off the async runtime,
/// bounded); the form, passphrase included, is wiped on the way. Without a passphrase there is
/// nothing anyone could open, so no KDF runs and the link is marked as such
/// ([`ballots::NO_PASSPHRASE_SALT`]).
async fn seal_link(voter: &VoterCtx, form: BallotForm) -> AppResult<SealedLink> {
    let ballot_voter = ballots::new_ballot_voter();
    let passphrase = match form.passphrase {
        Some(passphrase) if !passphrase.is_empty() => passphrase,
        _ => {
            return Ok(SealedLink {
                ballot_voter,
                salt: ballots::NO_PASSPHRASE_SALT,
                sealed: ballots::NO_PASSPHRASE_LINK.to_vec(),
            });
        }
    };
    let state = &voter.state;
    let kdf = state.kdf();
    let claim = kdf
        .claim(state.db(), state.instance_id(), voter.user.id)
        .await?
        .ok_or_else(kdf::busy)?;
    let salt = crypto::random_salt();
    let nonce = crypto::random_nonce();
    let target = ballot_voter.clone();
    let sealed = kdf
        .run(claim, move || {
            crypto::encrypt_link(&passphrase, &salt, &nonce, &target)
        })
        .await?
        .map_err(AppError::internal)?;
    Ok(SealedLink {
        ballot_voter,
        salt,
        sealed,
    })
}

// ----------------------------------------------------------------------------------------------
// Confirmation

#[derive(Template)]
#[template(path = "confirmation.html")]
struct ConfirmationPage {
    layout: Layout,
    election: ElectionHead,
    /// The day the ballot was recorded (`YYYY-MM-DD`, UTC), when known.
    cast_on: Option<String>,
    /// Cast with a passphrase: it can be viewed (and revoked while voting runs).
    has_passphrase: bool,
    /// Cast without one (nothing was ever stored to open it).
    no_passphrase: bool,
    running: bool,
    receipt: Option<ReceiptView>,
}

/// The receipt block of the confirmation and "Your Ballot" pages (`receipt.html`).
struct ReceiptView {
    /// The code; `None` on a confirmation page shown again (the code is shown once).
    code: Option<String>,
    /// When voting ends (the board opens then).
    end: String,
    /// Whether the election has a "Check my receipt" page (`ballot_board` is not `off`).
    checkable: bool,
    check_href: String,
}

impl ReceiptView {
    fn new(e: &Election, code: Option<String>) -> ReceiptView {
        ReceiptView {
            code,
            end: display_utc(e.end),
            checkable: BoardAccess::of(e).0 != BoardAccess::Off,
            check_href: crate::routes::board::receipt_url(&e.key),
        }
    }
}

/// `GET /app/elections/<eid>/confirmation`: once voted, which election, when, and whether the
/// ballot can be viewed or revoked; else 302 to the election page.
pub(crate) async fn confirmation(ctx: ElectionCtx) -> AppResult<Response> {
    if !ctx.has_voted().await? {
        return Ok(found(&ctx.url()));
    }
    let code = ctx.session.take_receipt(&ctx.election.key);
    let link = match ctx.row {
        Some(id) => ballots::voter_link(ctx.state.db(), ctx.user.id, id).await?,
        None => None,
    };
    render_ok(&ConfirmationPage {
        receipt: Some(ReceiptView::new(&ctx.election, code)),
        layout: ctx.layout(format!("Thank you for voting in {}", ctx.election.name)),
        election: ctx.head(),
        cast_on: link
            .as_ref()
            .and_then(|l| l.created_at)
            .map(|t| t.date().to_string()),
        has_passphrase: link
            .as_ref()
            .is_some_and(|l| !l.cast_without_passphrase() && l.salt.is_some()),
        no_passphrase: link.is_some_and(|l| l.cast_without_passphrase()),
        running: ctx.status() == Status::Running,
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

impl BallotEntry {
    /// A stored `(candidate, rank)` row of `e`'s ballot (`score`: the rank holds stars).
    fn new(e: &Election, score: bool, (id, rank): (String, Option<i32>)) -> BallotEntry {
        let candidate = e.candidate(&id);
        BallotEntry {
            name: candidate.map(|c| c.name.clone()).unwrap_or_default(),
            known: candidate.is_some(),
            rank: match rank {
                Some(NO_OPINION) | None if score => stars_label(0),
                Some(r) if score => stars_label(r),
                Some(NO_OPINION) | None => "No opinion".to_owned(),
                Some(r) => r.to_string(),
            },
            id,
        }
    }
}

#[derive(Template)]
#[template(path = "ballot.html")]
struct BallotPage {
    layout: Layout,
    election: ElectionHead,
    entries: Vec<BallotEntry>,
    /// A score (STAR) ballot: the column shows stars.
    score: bool,
    can_revoke: bool,
    csrf_token: String,
    receipt: Option<ReceiptView>,
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
    ctx: &ElectionCtx,
    election_id: ElectionId,
    password: Option<Zeroizing<String>>,
) -> AppResult<Opened> {
    let (state, user) = (&ctx.state, &ctx.user);
    let Some(link) = ballots::voter_link(state.db(), user.id, election_id).await? else {
        return Ok(Opened::Refused(MSG_NOT_VOTED));
    };
    if link.cast_without_passphrase() {
        return Ok(Opened::Refused(MSG_NO_PASSPHRASE));
    }
    let password = password.ok_or_else(error::no_password_field)?;
    // An empty passphrase never sealed a ballot: no KDF needed.
    if password.is_empty() {
        return Ok(Opened::Refused(MSG_WRONG_PASSPHRASE));
    }
    // Every passphrase check, of either kind, counts against the user's attempts.
    let claim = state
        .kdf()
        .claim(state.db(), state.instance_id(), user.id)
        .await?
        .ok_or_else(kdf::busy)?;
    if !state.kdf().passphrase_attempt(state.db(), user.id).await? {
        claim.release().await;
        return Err(kdf::too_many_attempts());
    }
    // Legacy (schema 1, Elekto 0.5) rows have no salt: their ballot carries a Werkzeug hash.
    let (Some(salt), Some(blob)) = (link.salt, link.ballot_id) else {
        return open_v1_ballot(ctx, claim, election_id, link.id, password).await;
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
    ctx: &ElectionCtx,
    claim: kdf::UserClaim,
    election_id: ElectionId,
    voter_row: VoterId,
    password: Zeroizing<String>,
) -> AppResult<Opened> {
    let hashes = votebox_db::schema1_ballots::v1_ballot_voters(ctx.state.db(), election_id).await?;
    if hashes.is_empty() {
        return Ok(Opened::Refused(MSG_WRONG_PASSPHRASE));
    }
    let login = ctx.user.login.clone();
    let found = ctx
        .state
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

/// `POST /app/elections/<eid>/vote/view`: "Your Ballot", with the right passphrase.
pub(crate) async fn view(voter: VoterCtx, CsrfFormBody(body): CsrfFormBody) -> AppResult<Response> {
    let Some(election_id) = voter.row else {
        return Ok(voter.back_with(MSG_NOT_VOTED));
    };
    let uuid = match open_ballot(&voter, election_id, password_field(&body)).await? {
        Opened::Ok { uuid, .. } => uuid,
        Opened::Refused(message) => return Ok(voter.back_with(message)),
    };
    let rows = ballots::ballot_rows(voter.state.db(), election_id, &uuid).await?;
    let e = &voter.election;
    let receipt = Receipt::of(&e.key, &uuid).to_string();
    let score = kind_of(e) == BallotKind::Score;
    render_ok(&BallotPage {
        layout: voter.layout(format!("Your Ballot | {}", e.name)),
        election: voter.head(),
        entries: rows
            .into_iter()
            .map(|row| BallotEntry::new(e, score, row))
            .collect(),
        score,
        can_revoke: voter.status() == Status::Running,
        csrf_token: voter.session.csrf_token(),
        receipt: Some(ReceiptView::new(e, Some(receipt))),
    })
}

/// `POST /app/elections/<eid>/vote/edit`: revokes the ballot (while running), with the right
/// passphrase; the voter may then vote again.
pub(crate) async fn revoke(
    voter: VoterCtx,
    CsrfFormBody(body): CsrfFormBody,
) -> AppResult<Response> {
    voter.require_running()?;
    let Some(election_id) = voter.row else {
        return Ok(voter.back_with(MSG_NOT_VOTED));
    };
    let (uuid, voter_row) = match open_ballot(&voter, election_id, password_field(&body)).await? {
        Opened::Ok { uuid, voter_row } => (uuid, voter_row),
        Opened::Refused(message) => return Ok(voter.back_with(message)),
    };
    voter.require_running()?; // voting may have closed while the request waited for the KDF
    let (db, user_id) = (voter.state.db(), voter.user.id);
    match ballots::revoke(db, election_id, user_id, voter_row, &uuid).await? {
        RevokeOutcome::Revoked { ballots } => {
            // The revoked ballot's receipt, if not shown yet, is gone with it.
            voter.session.take_receipt(&voter.election.key);
            tracing::info!(election = %voter.election.key, rows = ballots, "ballot revoked");
            Ok(voter.back_with_notice(MSG_REVOKED))
        }
        RevokeOutcome::NotVoted => Ok(voter.back_with(MSG_NOT_VOTED)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_decode_lazily_as_forms_do() {
        let fields: Vec<(String, String)> = form_fields(b"a=1&b=%20x+y&=&c").collect();
        assert_eq!(
            fields,
            vec![
                ("a".to_owned(), "1".to_owned()),
                ("b".to_owned(), " x y".to_owned()),
                (String::new(), String::new()),
                ("c".to_owned(), String::new()),
            ]
        );
        assert_eq!(form_fields(b"").count(), 0);
    }
}
