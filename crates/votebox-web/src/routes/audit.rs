//! The audit log of an election, for its officers (issue 14 item 4), at any status:
//!
//! * `GET /app/elections/<eid>/admin/audit`: every entry, whether the chain verifies (the first
//!   broken link otherwise) and whether the ballots are still those recorded at close.
//! * `GET …/admin/audit.jsonl`: the entries as JSON lines, for `votebox audit verify FILE`.

use askama::Template;
use axum::response::Response;
use votebox_core::audit::{LinkProblem, format_at};

use crate::audit::{AuditCheck, Current};
use crate::error::AppResult;
use crate::extract::OfficerCtx;
use crate::response::{download, render_ok};
use crate::views::{ElectionHead, Layout};

/// One line of the table.
pub(crate) struct EntryView {
    pub seq: i64,
    pub at: String,
    pub kind: String,
    pub detail: String,
    pub hash: String,
    /// The first broken link of the chain is here.
    pub broken: bool,
}

#[derive(Template)]
#[template(path = "admin_audit.html")]
pub(crate) struct AuditPage {
    pub layout: Layout,
    pub election: ElectionHead,
    pub entries: Vec<EntryView>,
    /// "entry N, SHA-256 H" of an intact, non-empty chain.
    pub head: Option<String>,
    pub warnings: Vec<String>,
    pub jsonl_href: String,
}

/// The chain and its check (`None` while the sync has not added the election).
async fn load(officer: &OfficerCtx) -> AppResult<Option<AuditCheck>> {
    let Some(id) = officer.row else {
        return Ok(None);
    };
    let db = officer.state.db();
    crate::audit::observe(db, &officer.election, id, officer.now()).await?;
    let now = Current::read(db, &officer.election, id).await?;
    Ok(Some(
        AuditCheck::load(db, id, &officer.election.key, now).await?,
    ))
}

/// `GET /app/elections/<eid>/admin/audit`.
pub(crate) async fn audit_page(officer: OfficerCtx) -> AppResult<Response> {
    let check = load(&officer).await?;
    let (entries, head, warnings) = match &check {
        None => (Vec::new(), None, Vec::new()),
        Some(check) => {
            let broken_at = check.verified.as_ref().err().map(|b| match b.problem {
                LinkProblem::UnexpectedSeq { found } => found,
                _ => b.seq,
            });
            let entries = check
                .entries
                .iter()
                .map(|e| EntryView {
                    seq: e.seq,
                    at: format_at(e.at),
                    kind: e.kind.clone(),
                    detail: e.detail.clone(),
                    hash: e.hash.clone(),
                    broken: broken_at == Some(e.seq),
                })
                .collect();
            let head = check
                .head()
                .map(|h| format!("entry {}, SHA-256 {}", h.seq, h.hash));
            (entries, head, check.warnings())
        }
    };
    render_ok(&AuditPage {
        layout: officer.layout(format!("Audit log | {}", officer.election.name)),
        election: officer.head(),
        entries,
        head,
        warnings,
        jsonl_href: format!("{}/admin/audit.jsonl", officer.url()),
    })
}

/// `GET /app/elections/<eid>/admin/audit.jsonl`: one JSON object per line, in `seq` order.
pub(crate) async fn audit_jsonl(officer: OfficerCtx) -> AppResult<Response> {
    let entries = match officer.row {
        Some(id) => votebox_db::audit::entries(officer.state.db(), id).await?,
        None => Vec::new(),
    };
    let key = &officer.election.key;
    let mut body = String::new();
    for e in &entries {
        body.push_str(&e.to_json_line(key));
        body.push('\n');
    }
    let filename = format!("{}-audit.jsonl", key.replace(['"', '\\', '/'], "_"));
    Ok(download("application/x-ndjson", &filename, body))
}
