//! What several instances on one database share (migration 0008), on every engine: leases taken
//! by one holder at a time, the published meta commit, the per-user KDF claim and passphrase
//! attempts.

use std::time::Duration;

use votebox_db::users::LoginDetails;
use votebox_db::{Backend, Db, UserId, leases, meta_snapshots, testing, user_limits, users};

votebox_db::on_every_engine!(
    a_lease_has_one_holder_at_a_time,
    a_held_lease_is_extended_then_released,
    the_published_meta_commit_is_replaced_whole,
    a_users_kdf_claim_is_one_across_instances,
    passphrase_attempts_are_counted_across_instances,
);

const LONG: Duration = Duration::from_secs(600);

async fn seed_user(db: &Db, login: &str) -> UserId {
    users::upsert_login(db, &LoginDetails::login(login))
        .await
        .unwrap()
        .id
}

async fn a_lease_has_one_holder_at_a_time(backend: Backend) {
    let (db, _url, _guard) = testing::migrated_database(backend).await;
    // Eight instances try at once: one wins.
    let tries = (0..8).map(|i| {
        let db = db.clone();
        tokio::spawn(async move {
            leases::try_take(&db, "job", &format!("instance-{i}"), LONG)
                .await
                .unwrap()
        })
    });
    let mut winners = 0;
    for t in tries {
        winners += usize::from(t.await.unwrap());
    }
    assert_eq!(winners, 1, "{backend}: exactly one holder");
    let (holder, _) = leases::holder(&db, "job").await.unwrap().expect("row");
    // The holder extends it; nobody else gets it.
    assert!(leases::try_take(&db, "job", &holder, LONG).await.unwrap());
    assert!(!leases::try_take(&db, "job", "late", LONG).await.unwrap());
    // Another lease is independent.
    assert!(leases::try_take(&db, "other", "late", LONG).await.unwrap());
    // Released: the next one takes it.
    leases::release(&db, "job", "not-the-holder").await.unwrap();
    assert!(!leases::try_take(&db, "job", "late", LONG).await.unwrap());
    leases::release(&db, "job", &holder).await.unwrap();
    assert!(
        leases::try_take(&db, "job", "late", Duration::ZERO)
            .await
            .unwrap()
    );
    // Expired (a holder that died): the next one takes it.
    assert!(leases::try_take(&db, "job", "next", LONG).await.unwrap());
    assert_eq!(leases::holder(&db, "job").await.unwrap().unwrap().0, "next");
    db.close().await;
}

async fn a_held_lease_is_extended_then_released(backend: Backend) {
    let (db, _url, _guard) = testing::migrated_database(backend).await;
    let ttl = Duration::from_millis(900);
    let held = leases::hold(&db, "fetch", "a", ttl, LONG, Duration::from_millis(20))
        .await
        .unwrap()
        .expect("free lease");
    let (_, first) = leases::holder(&db, "fetch").await.unwrap().unwrap();
    // Extended while held, without anyone asking.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (holder, until) = leases::holder(&db, "fetch").await.unwrap().unwrap();
        assert_eq!(holder, "a");
        if until > first {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{backend}: never extended"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Another instance waits for it; a short wait gives up.
    assert!(
        leases::hold(
            &db,
            "fetch",
            "b",
            ttl,
            Duration::ZERO,
            Duration::from_millis(20)
        )
        .await
        .unwrap()
        .is_none()
    );
    let waiter = {
        let db = db.clone();
        tokio::spawn(async move {
            leases::hold(&db, "fetch", "b", ttl, LONG, Duration::from_millis(20))
                .await
                .unwrap()
                .is_some()
        })
    };
    held.release().await.unwrap();
    assert!(
        waiter.await.unwrap(),
        "{backend}: the waiter takes it once released"
    );
    db.close().await;
}

async fn the_published_meta_commit_is_replaced_whole(backend: Backend) {
    let (db, _url, _guard) = testing::migrated_database(backend).await;
    assert!(
        meta_snapshots::published_commit(&db, "src")
            .await
            .unwrap()
            .is_none()
    );
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    meta_snapshots::publish(&db, "src", "c1", &big)
        .await
        .unwrap();
    meta_snapshots::publish(&db, "other", "x9", b"other")
        .await
        .unwrap();
    let p = meta_snapshots::load(&db, "src").await.unwrap().unwrap();
    assert_eq!((p.commit_id.as_str(), p.files.len()), ("c1", big.len()));
    assert_eq!(p.files, big);
    meta_snapshots::publish(&db, "src", "c2", b"\x00second")
        .await
        .unwrap();
    let (commit, at) = meta_snapshots::published_commit(&db, "src")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(commit, "c2");
    assert!(at >= p.published_at);
    let p = meta_snapshots::load(&db, "src").await.unwrap().unwrap();
    assert_eq!(p.files, b"\x00second");
    assert_eq!(
        meta_snapshots::load(&db, "other")
            .await
            .unwrap()
            .unwrap()
            .commit_id,
        "x9"
    );
    db.close().await;
}

async fn a_users_kdf_claim_is_one_across_instances(backend: Backend) {
    let (db, _url, _guard) = testing::migrated_database(backend).await;
    let (u, v) = (seed_user(&db, "u").await, seed_user(&db, "v").await);
    assert!(user_limits::claim(&db, u, "a", LONG).await.unwrap());
    assert!(
        !user_limits::claim(&db, u, "b", LONG).await.unwrap(),
        "{backend}"
    );
    assert!(
        !user_limits::claim(&db, u, "a", LONG).await.unwrap(),
        "one per user"
    );
    assert!(
        user_limits::claim(&db, v, "b", LONG).await.unwrap(),
        "per user"
    );
    // Only the holder releases it.
    user_limits::release(&db, u, "b").await.unwrap();
    assert!(!user_limits::claim(&db, u, "b", LONG).await.unwrap());
    user_limits::release(&db, u, "a").await.unwrap();
    assert!(
        user_limits::claim(&db, u, "b", Duration::ZERO)
            .await
            .unwrap()
    );
    // b died: its claim lapses and a takes over…
    assert!(
        user_limits::claim(&db, u, "a", Duration::ZERO)
            .await
            .unwrap()
    );
    // …unless it is extended by a live holder.
    assert_eq!(user_limits::extend_claims(&db, "a", LONG).await.unwrap(), 1);
    assert!(!user_limits::claim(&db, u, "b", LONG).await.unwrap());
    db.close().await;
}

async fn passphrase_attempts_are_counted_across_instances(backend: Backend) {
    let (db, _url, _guard) = testing::migrated_database(backend).await;
    let (u, v) = (seed_user(&db, "u").await, seed_user(&db, "v").await);
    for i in 0..10 {
        assert!(
            user_limits::passphrase_attempt(&db, u, 10, LONG)
                .await
                .unwrap(),
            "{backend}: attempt {i}"
        );
    }
    assert!(
        !user_limits::passphrase_attempt(&db, u, 10, LONG)
            .await
            .unwrap()
    );
    assert!(
        user_limits::passphrase_attempt(&db, v, 10, LONG)
            .await
            .unwrap(),
        "per user"
    );
    // Outside the window they no longer count.
    assert!(
        user_limits::passphrase_attempt(&db, u, 10, Duration::ZERO)
            .await
            .unwrap()
    );
    db.close().await;
}
