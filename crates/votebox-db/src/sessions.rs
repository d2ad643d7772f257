//! Session generations (`votebox_user_session`, migration 0005): what makes logout final.
//!
//! A session cookie carries the user's generation as read at login. The web layer compares it
//! with [`generation`] on every request that holds a login; logout calls [`end_sessions`], which
//! increments it, so every cookie issued before (a copy included, on any instance) stops working.
//! A user without a row is at generation 0.

use sea_query::{Expr, ExprTrait, OnConflict, Query};

use crate::UserId;
use crate::schema::VoteboxUserSession;
use crate::{Db, Result};

/// The current session generation of `user_id` (0 when none was recorded).
pub async fn generation(db: &Db, user_id: UserId) -> Result<i64> {
    let stmt = Query::select()
        .column(VoteboxUserSession::Generation)
        .from(VoteboxUserSession::Table)
        .and_where(Expr::col(VoteboxUserSession::UserId).eq(user_id))
        .to_owned();
    let row: Option<(i64,)> = db.fetch_optional(&stmt).await?;
    Ok(row.map_or(0, |(g,)| g))
}

/// Ends every session of `user_id`: increments its generation (one atomic upsert, so concurrent
/// logouts never lose an increment) and returns the new value.
pub async fn end_sessions(db: &Db, user_id: UserId) -> Result<i64> {
    let bumped = Expr::col((VoteboxUserSession::Table, VoteboxUserSession::Generation)).add(1);
    let stmt = Query::insert()
        .into_table(VoteboxUserSession::Table)
        .columns([VoteboxUserSession::UserId, VoteboxUserSession::Generation])
        .values_panic([user_id.into(), 1i64.into()])
        .on_conflict(
            OnConflict::column(VoteboxUserSession::UserId)
                .value(VoteboxUserSession::Generation, bumped)
                .to_owned(),
        )
        .to_owned();
    db.execute(&stmt).await?;
    generation(db, user_id).await
}
