//! The meta commit every instance serves (`votebox_meta_snapshot`, migration 0008).
//!
//! The instance that fetches the meta repository stores the commit id and an archive of the
//! files under `ELECTION_DIR` ([`publish`]); every other instance polls the commit id
//! ([`published_commit`], one primary-key lookup) and, when it changes, reads the archive
//! ([`load`]) and serves it. So one fetch updates every instance, and adding instances adds no
//! request to the git remote. The archive's format is the meta crate's business; here it is bytes.

use sea_query::{Expr, ExprTrait, OnConflict, Query};

use crate::query::ts_value;
use crate::schema::VoteboxMetaSnapshot;
use crate::{Db, Result, Timestamp, utc_now};

/// A published meta commit with its files.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Published {
    pub commit_id: String,
    pub files: Vec<u8>,
    pub published_at: Timestamp,
}

/// Stores `commit_id` and its `files` as what instances serve for `source` (replacing the
/// previous commit in one statement, so a reader sees one or the other).
pub async fn publish(db: &Db, source: &str, commit_id: &str, files: &[u8]) -> Result<()> {
    let backend = db.backend();
    let stmt = Query::insert()
        .into_table(VoteboxMetaSnapshot::Table)
        .columns([
            VoteboxMetaSnapshot::Source,
            VoteboxMetaSnapshot::CommitId,
            VoteboxMetaSnapshot::Files,
            VoteboxMetaSnapshot::PublishedAt,
        ])
        .values_panic([
            source.into(),
            commit_id.into(),
            files.to_vec().into(),
            ts_value(backend, Some(utc_now())).into(),
        ])
        .on_conflict(
            OnConflict::column(VoteboxMetaSnapshot::Source)
                .update_columns([
                    VoteboxMetaSnapshot::CommitId,
                    VoteboxMetaSnapshot::Files,
                    VoteboxMetaSnapshot::PublishedAt,
                ])
                .to_owned(),
        )
        .to_owned();
    db.execute(&stmt).await?;
    Ok(())
}

/// The commit published for `source`, and when (`None`: nothing published yet). Cheap: what
/// every instance polls.
pub async fn published_commit(db: &Db, source: &str) -> Result<Option<(String, Timestamp)>> {
    let stmt = Query::select()
        .columns([
            VoteboxMetaSnapshot::CommitId,
            VoteboxMetaSnapshot::PublishedAt,
        ])
        .from(VoteboxMetaSnapshot::Table)
        .and_where(Expr::col(VoteboxMetaSnapshot::Source).eq(source))
        .to_owned();
    db.fetch_optional(&stmt).await
}

/// The commit published for `source` with its files.
pub async fn load(db: &Db, source: &str) -> Result<Option<Published>> {
    let stmt = Query::select()
        .columns([
            VoteboxMetaSnapshot::CommitId,
            VoteboxMetaSnapshot::Files,
            VoteboxMetaSnapshot::PublishedAt,
        ])
        .from(VoteboxMetaSnapshot::Table)
        .and_where(Expr::col(VoteboxMetaSnapshot::Source).eq(source))
        .to_owned();
    db.fetch_optional(&stmt).await
}
