//! The per-user limits on the ballot KDF, shared by every instance (migration 0008).
//!
//! * One key derivation in progress per user ([`claim`]): a row in `votebox_kdf_claim`, whose
//!   primary key lets one instance have it. Its holder extends it while it works
//!   ([`extend_claims`]); a claim whose holder died lapses at `expires_at`.
//! * At most `max` passphrase checks per user in a sliding window ([`passphrase_attempt`]): one
//!   row per check in `votebox_passphrase_attempt`. Called while holding the user's claim, so a
//!   user's checks are counted one at a time, whichever instance serves them.

use std::time::Duration;

use sea_query::{Expr, ExprTrait, Func, Query};

use crate::leases::after;
use crate::query::{is_unique_violation, ts_value};
use crate::schema::{VoteboxKdfClaim, VoteboxPassphraseAttempt};
use crate::{Db, Result, UserId, utc_now};

/// Claims the user's one KDF slot for `holder` until `ttl` from now. `Ok(false)`: another
/// request of the user (on any instance) has it.
pub async fn claim(db: &Db, user_id: UserId, holder: &str, ttl: Duration) -> Result<bool> {
    let backend = db.backend();
    let now = utc_now();
    // A lapsed claim (its instance died) no longer counts.
    let lapsed = Query::delete()
        .from_table(VoteboxKdfClaim::Table)
        .and_where(Expr::col(VoteboxKdfClaim::UserId).eq(user_id))
        .and_where(Expr::col(VoteboxKdfClaim::ExpiresAt).lte(ts_value(backend, Some(now))))
        .to_owned();
    db.execute(&lapsed).await?;
    let insert = Query::insert()
        .into_table(VoteboxKdfClaim::Table)
        .columns([
            VoteboxKdfClaim::UserId,
            VoteboxKdfClaim::Holder,
            VoteboxKdfClaim::ExpiresAt,
        ])
        .values_panic([
            user_id.into(),
            holder.into(),
            ts_value(backend, Some(after(now, ttl))).into(),
        ])
        .to_owned();
    match db.execute(&insert).await {
        Ok(_) => Ok(true),
        Err(e) if is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Releases the user's claim held by `holder`.
pub async fn release(db: &Db, user_id: UserId, holder: &str) -> Result<()> {
    let stmt = Query::delete()
        .from_table(VoteboxKdfClaim::Table)
        .and_where(Expr::col(VoteboxKdfClaim::UserId).eq(user_id))
        .and_where(Expr::col(VoteboxKdfClaim::Holder).eq(holder))
        .to_owned();
    db.execute(&stmt).await?;
    Ok(())
}

/// Extends every claim `holder` has to `ttl` from now; returns how many.
pub async fn extend_claims(db: &Db, holder: &str, ttl: Duration) -> Result<u64> {
    let backend = db.backend();
    let stmt = Query::update()
        .table(VoteboxKdfClaim::Table)
        .value(
            VoteboxKdfClaim::ExpiresAt,
            ts_value(backend, Some(after(utc_now(), ttl))),
        )
        .and_where(Expr::col(VoteboxKdfClaim::Holder).eq(holder))
        .to_owned();
    Ok(db.execute(&stmt).await?.rows_affected)
}

/// Records a passphrase check of `user_id`, or returns `Ok(false)` when the user already made
/// `max` in the last `window`. Call it while holding the user's [`claim`].
pub async fn passphrase_attempt(
    db: &Db,
    user_id: UserId,
    max: usize,
    window: Duration,
) -> Result<bool> {
    let backend = db.backend();
    let now = utc_now();
    let since = time::Duration::try_from(window)
        .ok()
        .and_then(|w| now.checked_sub(w))
        .unwrap_or(time::macros::datetime!(1970-01-01 00:00:00));
    let forget = Query::delete()
        .from_table(VoteboxPassphraseAttempt::Table)
        .and_where(Expr::col(VoteboxPassphraseAttempt::UserId).eq(user_id))
        .and_where(
            Expr::col(VoteboxPassphraseAttempt::AttemptedAt).lte(ts_value(backend, Some(since))),
        )
        .to_owned();
    db.execute(&forget).await?;
    let count = Query::select()
        .expr(Func::count(Expr::col(VoteboxPassphraseAttempt::UserId)))
        .from(VoteboxPassphraseAttempt::Table)
        .and_where(Expr::col(VoteboxPassphraseAttempt::UserId).eq(user_id))
        .to_owned();
    let (made,): (i64,) = db.fetch_one(&count).await?;
    if usize::try_from(made).unwrap_or(usize::MAX) >= max {
        return Ok(false);
    }
    let record = Query::insert()
        .into_table(VoteboxPassphraseAttempt::Table)
        .columns([
            VoteboxPassphraseAttempt::UserId,
            VoteboxPassphraseAttempt::AttemptedAt,
        ])
        .values_panic([user_id.into(), ts_value(backend, Some(now)).into()])
        .to_owned();
    match db.execute(&record).await {
        // The same microsecond twice: counted once, which is within the limit's precision.
        Ok(_) => Ok(true),
        Err(e) if is_unique_violation(&e) => Ok(true),
        Err(e) => Err(e),
    }
}
