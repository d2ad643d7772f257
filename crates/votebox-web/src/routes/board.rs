//! The ballot board and "check my receipt" (issue 14), once the election has ended:
//!
//! * `GET /elections/<eid>/board`: every counted ballot with its receipt and ranking, sorted by
//!   receipt, and the SHA-256 of the canonical CSV ([`votebox_core::verify::Board`]);
//! * `GET /elections/<eid>/board.csv` and `board.json`: the same, to download (the CSV is the
//!   canonical one the SHA-256 is of; `X-Votebox-Board-Sha256` carries it too);
//! * `GET|POST /elections/<eid>/receipt`: a voter types their receipt and sees the ranking
//!   stored for it (POST, so the receipt never sits in a URL, a proxy log or the history).
//!
//! Who may see them is `election.yaml: ballot_board` ([`BoardAccess`], default `officers`);
//! see [`BoardCtx`]. Nothing here logs a receipt.

use askama::Template;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use votebox_core::meta::{Election, display_utc};
use votebox_core::verify::{Board, BoardAccess, Receipt};

use crate::csrf::CsrfForm;
use crate::extract::{BoardCtx, BoardRefusal};
use crate::response::{render, render_ok, url_part};
use crate::views::{ElectionHead, Layout};

/// `/elections/<key>/board`.
pub(crate) fn board_url(key: &str) -> String {
    format!("/elections/{}/board", url_part(key))
}

/// `/elections/<key>/receipt`.
pub(crate) fn receipt_url(key: &str) -> String {
    format!("/elections/{}/receipt", url_part(key))
}

type Reply = Result<Response, BoardRefusal>;

/// The board, for a handler that may show it; recorded in the audit chain when it differs from
/// the last board recorded.
async fn open_board(ctx: &BoardCtx) -> Result<Board, BoardRefusal> {
    ctx.require_board()?;
    ctx.require_completed()?;
    let board = ctx.board().await?;
    let db = ctx.state.db();
    let key = &ctx.election.key;
    if let Some(row) = votebox_db::elections::find_by_key(db, key)
        .await
        .map_err(crate::error::AppError::from)?
    {
        let now = ctx.state.now();
        crate::audit::record_board(db, row.id, key, now, &board.sha256()).await;
    }
    Ok(board)
}

#[derive(Template)]
#[template(path = "board.html")]
struct BoardPage {
    layout: Layout,
    election: ElectionHead,
    board: Board,
    sha256: String,
    /// Per entry: receipt and readable ranking.
    lines: Vec<(String, String)>,
    access: &'static str,
    base: String,
    receipt_href: String,
}

/// `GET /elections/<eid>/board`.
pub(crate) async fn board_page(ctx: BoardCtx) -> Reply {
    let board = open_board(&ctx).await?;
    let lines = board
        .entries
        .iter()
        .map(|e| (e.receipt.to_string(), board.ranking(e).to_string()))
        .collect();
    Ok(render_ok(&BoardPage {
        layout: ctx.layout(format!("Ballot board | {}", ctx.election.name)),
        election: ctx.head(),
        sha256: board.sha256(),
        lines,
        access: ctx.access.as_str(),
        base: board_url(&ctx.election.key),
        receipt_href: receipt_url(&ctx.election.key),
        board,
    })?)
}

/// A download of the board, with its SHA-256 in a header.
fn download(content_type: &'static str, filename: &str, body: String, sha256: &str) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename={filename}")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(sha256) {
        h.insert(HeaderName::from_static("x-votebox-board-sha256"), v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// `GET /elections/<eid>/board.csv`: the canonical CSV.
pub(crate) async fn board_csv(ctx: BoardCtx) -> Reply {
    let board = open_board(&ctx).await?;
    let csv = board.to_csv();
    let sha256 = votebox_core::results::sha256_hex(csv.as_bytes());
    tracing::info!(election = %ctx.election.key, ballots = board.len(), "ballot board downloaded (CSV)");
    Ok(download(
        "text/csv; charset=utf-8",
        "ballot-board.csv",
        csv,
        &sha256,
    ))
}

/// `GET /elections/<eid>/board.json`.
pub(crate) async fn board_json(ctx: BoardCtx) -> Reply {
    let board = open_board(&ctx).await?;
    tracing::info!(election = %ctx.election.key, ballots = board.len(), "ballot board downloaded (JSON)");
    let json = board.to_json();
    Ok(download(
        "application/json",
        "ballot-board.json",
        json,
        &board.sha256(),
    ))
}

// ----------------------------------------------------------------------------------------------
// Check my receipt

/// What the receipt page found for a typed code.
enum Found {
    /// The code does not read as a receipt.
    Invalid(String),
    /// A receipt that is not on the board.
    Absent(String),
    /// On the board.
    Present(FoundBallot),
}

/// A ballot found by its receipt.
struct FoundBallot {
    receipt: String,
    /// `(rank, candidate names)`, best first.
    tiers: Vec<(i64, Vec<String>)>,
    /// Candidates left at No opinion.
    no_opinion: Vec<String>,
    /// A score (STAR) ballot: the tiers are stars, most first.
    stars: bool,
}

#[derive(Template)]
#[template(path = "receipt_check.html")]
struct ReceiptPage {
    layout: Layout,
    election: ElectionHead,
    csrf_token: String,
    typed: String,
    found: Option<Found>,
    board_href: Option<String>,
    end: String,
}

fn receipt_page(ctx: &BoardCtx, typed: String, found: Option<Found>) -> ReceiptPage {
    ReceiptPage {
        layout: ctx.layout(format!("Check my receipt | {}", ctx.election.name)),
        election: ctx.head(),
        csrf_token: ctx.session.csrf_token(),
        typed,
        found,
        board_href: (ctx.access == BoardAccess::Public
            || ctx
                .user
                .as_ref()
                .is_some_and(|u| ctx.election.is_officer(&u.login)))
        .then(|| board_url(&ctx.election.key)),
        end: display_utc(ctx.election.end),
    }
}

/// `GET /elections/<eid>/receipt`: the form.
pub(crate) async fn receipt_form(ctx: BoardCtx) -> Reply {
    ctx.require_receipt_check()?;
    ctx.require_completed()?;
    Ok(render_ok(&receipt_page(&ctx, String::new(), None))?)
}

#[derive(Deserialize)]
pub(crate) struct ReceiptForm {
    #[serde(default)]
    receipt: String,
}

/// A candidate's name as the page shows it: `Name (id)`, or the ID alone.
fn shown(e: &Election, id: &str) -> String {
    match e.candidate(id) {
        Some(c) if c.name != id => format!("{} ({id})", c.name),
        Some(_) => id.to_owned(),
        None => format!("{id} (no longer a candidate)"),
    }
}

/// `POST /elections/<eid>/receipt`: the ranking stored for the typed receipt.
pub(crate) async fn receipt_check(ctx: BoardCtx, CsrfForm(form): CsrfForm<ReceiptForm>) -> Reply {
    ctx.require_receipt_check()?;
    ctx.require_completed()?;
    let typed: String = form.receipt.chars().take(64).collect();
    let found = match typed.parse::<Receipt>() {
        Err(e) => Found::Invalid(e.to_string()),
        Ok(receipt) => {
            let board = ctx.board().await?;
            match board.find(&receipt) {
                None => Found::Absent(receipt.to_string()),
                Some(entry) => {
                    let ranking = board.ranking(entry);
                    let names =
                        |ids: &[String]| ids.iter().map(|id| shown(&ctx.election, id)).collect();
                    Found::Present(FoundBallot {
                        receipt: receipt.to_string(),
                        tiers: ranking
                            .tiers
                            .iter()
                            .map(|(r, ids)| (*r, names(ids)))
                            .collect(),
                        no_opinion: names(&ranking.no_opinion),
                        stars: ranking.stars,
                    })
                }
            }
        }
    };
    let status = match found {
        Found::Invalid(_) => axum::http::StatusCode::BAD_REQUEST,
        _ => axum::http::StatusCode::OK,
    };
    Ok(render(status, &receipt_page(&ctx, typed, Some(found)))?)
}
