//! Voter exception requests (Elekto §4.8) and their review by the election's officers (§4.9;
//! checklist 48, 49).
//!
//! `GET|POST /app/elections/<eid>/exception`: a logged-in user who is not eligible asks to be
//! added to the voter list, before `exception_due`. `GET|POST …/admin/exception/<rid>`: an officer
//! **of this election** reads a request **of this election** (404 otherwise; Elekto looked it up by
//! id alone) and toggles `reviewed`.
//!
//! Differences from Elekto: name, email, chat and description must be non-blank; name, email and
//! chat at most 255 characters (their `VARCHAR(255)`; Elekto failed with a 500 on PostgreSQL and
//! MySQL), description and comments at most 10 000 characters (MySQL's `TEXT` holds 64 KiB); a
//! refused form is shown again with what was typed (400).

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use votebox_core::audit::Event;
use votebox_core::meta::display_minutes_utc;
use votebox_db::requests::{self, CreateOutcome, NewRequest, RequestRow};

use super::auth::EmptyForm;
use crate::csrf::CsrfForm;
use crate::error::{self, AppError, AppResult};
use crate::extract::{ElectionCtx, OfficerCtx, PathParams};
use crate::response::{render, render_ok};
use crate::views::{ElectionHead, Layout};
use votebox_db::{ElectionId, RequestId};

/// Largest `name`, `email`, `chat` (their columns are `VARCHAR(255)`), in characters.
const MAX_SHORT: usize = 255;
/// Largest `description`, `comments` (MySQL `TEXT` is 65 535 bytes; 4 bytes per character).
const MAX_LONG: usize = 10_000;

const MSG_CLOSED: &str = "Not accepting any exception request.";
const MSG_ELIGIBLE: &str = "You are already eligible to vote in the election.";
const MSG_SUBMITTED: &str = "Request successfully submitted.";

/// The exception form's fields: `None` when absent, `Some("")` when sent empty.
#[derive(Debug, Default)]
pub(crate) struct ExceptionForm {
    name: Option<String>,
    email: Option<String>,
    chat: Option<String>,
    description: Option<String>,
    comments: Option<String>,
}

impl ExceptionForm {
    /// From the raw form pairs (serde would read an empty value as absent); the first of a
    /// repeated field wins.
    fn from_pairs(fields: Vec<(String, String)>) -> ExceptionForm {
        let mut form = ExceptionForm::default();
        for (k, v) in fields {
            let slot = match k.as_str() {
                "name" => &mut form.name,
                "email" => &mut form.email,
                "chat" => &mut form.chat,
                "description" => &mut form.description,
                "comments" => &mut form.comments,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(v);
            }
        }
        form
    }
}

#[derive(Template)]
#[template(path = "exception.html")]
struct ExceptionPage {
    layout: Layout,
    election: ElectionHead,
    exception_description: String,
    errors: Vec<FieldError>,
    csrf_token: String,
    name: String,
    email: String,
    chat: String,
    description: String,
    comments: String,
}

/// A problem with one field of the form (`field` is the input's id, so the message can be tied
/// to it with `aria-describedby`).
struct FieldError {
    field: &'static str,
    message: String,
}

impl ExceptionPage {
    /// The `aria-describedby`/`aria-invalid` attributes of the input `field`: empty when fine.
    fn error_attrs(&self, field: &str) -> String {
        if self.errors.iter().any(|e| e.field == field) {
            format!(" aria-invalid=\"true\" aria-describedby=\"error-{field}\"")
        } else {
            String::new()
        }
    }
}

fn exception_page(
    ctx: &ElectionCtx,
    form: &ExceptionForm,
    errors: Vec<FieldError>,
) -> ExceptionPage {
    let v = |f: &Option<String>| f.clone().unwrap_or_default();
    ExceptionPage {
        layout: ctx.layout(format!("Exception | {}", ctx.election.name)),
        election: ctx.head(),
        exception_description: ctx
            .election
            .exception_description
            .clone()
            .unwrap_or_default(),
        errors,
        csrf_token: ctx.session.csrf_token(),
        name: v(&form.name),
        email: v(&form.email),
        chat: v(&form.chat),
        description: v(&form.description),
        comments: v(&form.comments),
    }
}

/// Elekto's guard X: after the deadline, or for an eligible user, flash and go back.
fn exception_guard(ctx: &ElectionCtx) -> Option<Response> {
    let message = if ctx.election.exception_due < ctx.now() {
        MSG_CLOSED
    } else if ctx.election.is_eligible(&ctx.user.login) {
        MSG_ELIGIBLE
    } else {
        return None;
    };
    Some(ctx.back_with(message))
}

/// Whether the user has asked for an exception here already (not synced yet: no).
async fn has_requested(ctx: &ElectionCtx) -> AppResult<bool> {
    Ok(match ctx.row {
        Some(id) => {
            let (db, user) = (ctx.state.db(), &ctx.user);
            requests::has_requested(db, user.id, &user.login, id).await?
        }
        None => false,
    })
}

/// `GET /app/elections/<eid>/exception`.
pub(crate) async fn form(ctx: ElectionCtx) -> AppResult<Response> {
    if let Some(redirect) = exception_guard(&ctx) {
        return Ok(redirect);
    }
    if has_requested(&ctx).await? {
        return Err(error::already_requested(StatusCode::OK));
    }
    render_ok(&exception_page(&ctx, &ExceptionForm::default(), Vec::new()))
}

/// What is wrong with a submitted exception form, field by field.
fn form_errors(form: &ExceptionForm) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (field, label, value, required, max) in [
        ("name", "Name", &form.name, true, MAX_SHORT),
        ("email", "Email", &form.email, true, MAX_SHORT),
        ("chat", "Chat", &form.chat, true, MAX_SHORT),
        (
            "description",
            "Contributions",
            &form.description,
            true,
            MAX_LONG,
        ),
        ("comments", "Comments", &form.comments, false, MAX_LONG),
    ] {
        let message = match value {
            None => format!("The field {label} is missing."),
            Some(v) if required && v.trim().is_empty() => format!("Please fill in {label}."),
            Some(v) if v.chars().count() > max => {
                format!("{label} is too long: at most {max} characters.")
            }
            Some(_) => continue,
        };
        errors.push(FieldError { field, message });
    }
    errors
}

/// `POST /app/elections/<eid>/exception`.
pub(crate) async fn submit(
    ctx: ElectionCtx,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let form = ExceptionForm::from_pairs(fields);
    if let Some(redirect) = exception_guard(&ctx) {
        return Ok(redirect);
    }
    let election_id = ctx.require_row()?;
    if has_requested(&ctx).await? {
        return Err(error::already_requested(StatusCode::CONFLICT));
    }
    let errors = form_errors(&form);
    if !errors.is_empty() {
        return render(
            StatusCode::BAD_REQUEST,
            &exception_page(&ctx, &form, errors),
        );
    }
    let field = |f: &Option<String>| f.as_deref().unwrap_or_default().trim().to_owned();
    let (name, email, chat) = (field(&form.name), field(&form.email), field(&form.chat));
    let new = NewRequest {
        name: &name,
        email: &email,
        chat: &chat,
        description: form.description.as_deref().unwrap_or_default(),
        comments: form.comments.as_deref().unwrap_or_default(),
    };
    let (db, user) = (ctx.state.db(), &ctx.user);
    match requests::create(db, user.id, &user.login, election_id, &new).await? {
        CreateOutcome::Created(id) => {
            tracing::info!(election = %ctx.election.key, request = %id, "exception request filed");
            let event = Event::exception_filed(id.0.into());
            crate::audit::record(db, election_id, &ctx.election.key, ctx.now(), event).await;
            Ok(ctx.back_with_notice(MSG_SUBMITTED))
        }
        CreateOutcome::AlreadyRequested => Err(error::already_requested(StatusCode::CONFLICT)),
    }
}

// ----------------------------------------------------------------------------------------------
// Officer side

#[derive(Template)]
#[template(path = "exception_review.html")]
struct ReviewPage {
    layout: Layout,
    election: ElectionHead,
    id: RequestId,
    requester: String,
    created_at: String,
    name: String,
    email: String,
    chat: String,
    reviewed: bool,
    description: String,
    comments: String,
    csrf_token: String,
}

/// Request `rid` of this election (404 otherwise), and the election's row.
async fn request_of(officer: &OfficerCtx, rid: &str) -> AppResult<(ElectionId, RequestRow)> {
    let rid = RequestId(rid.parse().map_err(|_| AppError::NotFound)?);
    let election_id = officer.row.ok_or(AppError::NotFound)?;
    let row = requests::get_in_election(officer.state.db(), election_id, rid)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((election_id, row))
}

fn review_page(officer: &OfficerCtx, r: RequestRow) -> AppResult<Response> {
    let name = r.name.clone().unwrap_or_default();
    render_ok(&ReviewPage {
        layout: officer.layout(format!("Exception Request for {name}")),
        election: officer.head(),
        id: r.id,
        requester: r.username.clone().unwrap_or_default(),
        created_at: r.created_at.map(display_minutes_utc).unwrap_or_default(),
        reviewed: r.is_reviewed(),
        name,
        email: r.email.unwrap_or_default(),
        chat: r.chat.unwrap_or_default(),
        description: r.description.unwrap_or_default(),
        comments: r.comments.unwrap_or_default(),
        csrf_token: officer.session.csrf_token(),
    })
}

/// `GET /app/elections/<eid>/admin/exception/<rid>`.
pub(crate) async fn review(
    officer: OfficerCtx,
    PathParams((_, rid)): PathParams<(String, String)>,
) -> AppResult<Response> {
    let (_, row) = request_of(&officer, &rid).await?;
    review_page(&officer, row)
}

/// `POST /app/elections/<eid>/admin/exception/<rid>`: flips `reviewed`, then shows the request
/// (200, as Elekto).
pub(crate) async fn toggle(
    officer: OfficerCtx,
    PathParams((_, rid)): PathParams<(String, String)>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> AppResult<Response> {
    let (election_id, row) = request_of(&officer, &rid).await?;
    let db = officer.state.db();
    let reviewed = requests::toggle_reviewed(db, election_id, row.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let key = &officer.election.key;
    tracing::info!(election = %key, request = %row.id, reviewed, "exception request reviewed");
    let event = Event::exception_reviewed(row.id.0.into(), reviewed, &officer.user.login);
    crate::audit::record(db, election_id, key, officer.now(), event).await;
    let row = requests::get_in_election(db, election_id, row.id)
        .await?
        .ok_or(AppError::NotFound)?;
    review_page(&officer, row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_rules() {
        let ok = ExceptionForm {
            name: Some("A".into()),
            email: Some("a@example.org".into()),
            chat: Some("@a".into()),
            description: Some("docs".into()),
            comments: Some(String::new()),
        };
        assert!(form_errors(&ok).is_empty());
        let missing = ExceptionForm {
            comments: None,
            ..ok
        };
        assert_eq!(form_errors(&missing).len(), 1);
        let long = ExceptionForm {
            name: Some("é".repeat(256)),
            chat: Some(" ".into()),
            comments: Some(String::new()),
            ..missing
        };
        assert_eq!(form_errors(&long).len(), 2);
        let exactly = ExceptionForm {
            name: Some("é".repeat(255)),
            chat: Some("x".into()),
            ..long
        };
        assert!(form_errors(&exactly).is_empty());
    }
}
