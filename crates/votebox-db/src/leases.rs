//! Leases (`votebox_lease`, migration 0008): jobs that one instance at a time runs, whatever
//! the number of instances on the database — fetching the meta repository, the periodic meta
//! sync, the ballot mix.
//!
//! A lease is a row (name, holder, expires_at). [`try_take`] is one `UPDATE` for the three
//! engines: it succeeds when the lease has expired or the caller already holds it, so of several
//! instances trying at once exactly one matches the row (PostgreSQL and InnoDB re-check the
//! condition on the row they lock; SQLite writes one at a time). A holder that dies (SIGKILL,
//! lost node) frees its leases when they expire; [`hold`] extends one while its job runs.
//!
//! Expiry compares the instances' clocks (keep them in sync, as NTP does): each instance writes
//! and reads `expires_at` with its own `utc_now()`.

use std::time::Duration;

use sea_query::{Cond, Expr, ExprTrait, OnConflict, Query};

use crate::query::ts_value;
use crate::schema::VoteboxLease;
use crate::{Db, Result, Timestamp, utc_now};

/// `now + ttl`, saturating far in the future.
pub(crate) fn after(now: Timestamp, ttl: Duration) -> Timestamp {
    time::Duration::try_from(ttl)
        .ok()
        .and_then(|d| now.checked_add(d))
        .unwrap_or(time::macros::datetime!(9999-12-31 00:00:00))
}

/// Takes the lease `name` for `holder` until `ttl` from now, or extends it when `holder`
/// already has it. `Ok(false)`: another holder has it and it has not expired.
pub async fn try_take(db: &Db, name: &str, holder: &str, ttl: Duration) -> Result<bool> {
    if take(db, name, holder, ttl).await? {
        return Ok(true);
    }
    // A lease nobody took yet has no row: create it expired, then try again.
    let backend = db.backend();
    let create = Query::insert()
        .into_table(VoteboxLease::Table)
        .columns([
            VoteboxLease::Name,
            VoteboxLease::Holder,
            VoteboxLease::ExpiresAt,
        ])
        .values_panic([
            name.into(),
            "".into(),
            ts_value(backend, Some(time::macros::datetime!(1970-01-01 00:00:00))).into(),
        ])
        .on_conflict(
            OnConflict::column(VoteboxLease::Name)
                .do_nothing_on([VoteboxLease::Name])
                .to_owned(),
        )
        .to_owned();
    db.execute(&create).await?;
    take(db, name, holder, ttl).await
}

async fn take(db: &Db, name: &str, holder: &str, ttl: Duration) -> Result<bool> {
    let backend = db.backend();
    let now = utc_now();
    let stmt = Query::update()
        .table(VoteboxLease::Table)
        .values([
            (VoteboxLease::Holder, holder.into()),
            (
                VoteboxLease::ExpiresAt,
                ts_value(backend, Some(after(now, ttl))).into(),
            ),
        ])
        .and_where(Expr::col(VoteboxLease::Name).eq(name))
        .cond_where(
            Cond::any()
                .add(Expr::col(VoteboxLease::ExpiresAt).lte(ts_value(backend, Some(now))))
                .add(Expr::col(VoteboxLease::Holder).eq(holder)),
        )
        .to_owned();
    Ok(db.execute(&stmt).await?.rows_affected > 0)
}

/// Gives the lease up (when `holder` has it), so another instance may take it at once.
pub async fn release(db: &Db, name: &str, holder: &str) -> Result<()> {
    let backend = db.backend();
    let stmt = Query::update()
        .table(VoteboxLease::Table)
        .value(
            VoteboxLease::ExpiresAt,
            ts_value(backend, Some(time::macros::datetime!(1970-01-01 00:00:00))),
        )
        .and_where(Expr::col(VoteboxLease::Name).eq(name))
        .and_where(Expr::col(VoteboxLease::Holder).eq(holder))
        .to_owned();
    db.execute(&stmt).await?;
    Ok(())
}

/// Who holds the lease `name` and until when (`None`: never taken).
pub async fn holder(db: &Db, name: &str) -> Result<Option<(String, Timestamp)>> {
    let stmt = Query::select()
        .columns([VoteboxLease::Holder, VoteboxLease::ExpiresAt])
        .from(VoteboxLease::Table)
        .and_where(Expr::col(VoteboxLease::Name).eq(name))
        .to_owned();
    db.fetch_optional(&stmt).await
}

/// A lease held by [`hold`]: extended every third of its time to live until released or
/// dropped (a drop releases it in the background).
pub struct Held {
    /// (database, lease name, holder); `None` once released.
    lease: Option<(Db, String, String)>,
    renew: tokio::task::JoinHandle<()>,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.renew.abort();
        let Some((db, name, holder)) = self.lease.take() else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = release(&db, &name, &holder).await {
                    tracing::warn!(lease = %name, error = %e, "cannot release a lease; it expires by itself");
                }
            });
        }
    }
}

impl Held {
    /// Releases the lease now.
    pub async fn release(mut self) -> Result<()> {
        self.renew.abort();
        match self.lease.take() {
            Some((db, name, holder)) => release(&db, &name, &holder).await,
            None => Ok(()),
        }
    }
}

/// Takes the lease `name`, waiting (polling every `poll`) for at most `wait` while another
/// instance holds it, and keeps it until the returned guard is released or dropped.
/// `Ok(None)`: still held by another instance after `wait`.
pub async fn hold(
    db: &Db,
    name: &str,
    holder: &str,
    ttl: Duration,
    wait: Duration,
    poll: Duration,
) -> Result<Option<Held>> {
    let deadline = tokio::time::Instant::now() + wait;
    while !try_take(db, name, holder, ttl).await? {
        if tokio::time::Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(poll).await;
    }
    let renew = {
        let (db, name, holder) = (db.clone(), name.to_owned(), holder.to_owned());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(ttl / 3).await;
                match try_take(&db, &name, &holder, ttl).await {
                    Ok(true) => {}
                    Ok(false) => tracing::error!(
                        lease = %name,
                        "lost a lease while working (the database was unreachable longer than its expiry?): another instance may run the same job"
                    ),
                    Err(e) => tracing::warn!(lease = %name, error = %e, "cannot extend a lease"),
                }
            }
        })
    };
    Ok(Some(Held {
        lease: Some((db.clone(), name.to_owned(), holder.to_owned())),
        renew,
    }))
}
