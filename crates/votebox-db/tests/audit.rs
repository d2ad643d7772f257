//! The audit chain's storage on every engine: entries read back exactly as hashed, concurrent
//! appends (several instances) never fork the chain, "record once" events stay once, and an
//! edited or removed row is named by the verification.

use time::macros::datetime;
use votebox_core::audit::{self, BallotsDigest, Event, EventKind, LinkProblem};
use votebox_db::audit::{self as store, AppendRule};
use votebox_db::testing::sea_query::{Expr, ExprTrait, Query};
use votebox_db::testing::{self, exec};
use votebox_db::{Backend, Db, ElectionId, elections};

votebox_db::on_every_engine!(
    entries_read_back_as_hashed,
    concurrent_appends_make_one_chain,
    rules_record_a_state_once_across_instances,
    an_edited_or_removed_row_is_named,
);

const KEY: &str = "e1";
const OPEN_CLOSE: &[EventKind] = &[EventKind::VotingOpened, EventKind::VotingClosed];

async fn setup(backend: Backend) -> (Db, testing::TestDatabase, ElectionId) {
    let (db, _url, guard) = testing::migrated_database(backend).await;
    elections::sync(&db, &[(KEY.to_owned(), "Election one".to_owned())])
        .await
        .unwrap();
    let id = elections::find_by_key(&db, KEY).await.unwrap().unwrap().id;
    (db, guard, id)
}

async fn entries_read_back_as_hashed(backend: Backend) {
    let (db, _guard, id) = setup(backend).await;
    let at = datetime!(2023-08-10 12:34:56.789);
    let events = [
        Event::meta_synced("0123abcd", &"a".repeat(64)),
        Event::voting_opened(datetime!(2023-08-01 00:00:00)),
        Event::exception_reviewed(3, true, "ofﬁcer-ü"),
        Event::voting_closed(
            datetime!(2023-08-20 00:00:00),
            &BallotsDigest {
                ballots: 12,
                sha256: "b".repeat(64),
            },
            &"d".repeat(64),
        ),
    ];
    let mut written = Vec::new();
    for e in &events {
        let entry = store::append(&db, id, KEY, at, e, AppendRule::Always)
            .await
            .unwrap()
            .expect("appended");
        written.push(entry);
    }
    assert_eq!(written[0].at, datetime!(2023-08-10 12:34:56));
    let read = store::entries(&db, id).await.unwrap();
    assert_eq!(read, written);
    let head = audit::verify(KEY, &read).unwrap().unwrap();
    assert_eq!(head.seq, 4);
    assert_eq!(store::head(&db, id).await.unwrap(), Some(head));
    let latest = store::latest(&db, id, OPEN_CLOSE).await.unwrap().unwrap();
    assert_eq!((latest.seq, latest.kind.as_str()), (4, "voting_closed"));
    assert_eq!(latest.field("ballots"), Some(12.into()));
}

async fn concurrent_appends_make_one_chain(backend: Backend) {
    let (db, _guard, id) = setup(backend).await;
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                let e = Event::exception_filed(i);
                store::append(
                    &db,
                    id,
                    KEY,
                    datetime!(2023-08-10 12:00:00),
                    &e,
                    AppendRule::Always,
                )
                .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap().expect("each append is written");
    }
    let read = store::entries(&db, id).await.unwrap();
    assert_eq!(read.len(), 12);
    assert_eq!(audit::verify(KEY, &read).unwrap().unwrap().seq, 12);
    let mut requests: Vec<i64> = read
        .iter()
        .map(|e| e.field("request").unwrap().as_i64().unwrap())
        .collect();
    requests.sort_unstable();
    assert_eq!(requests, (0..12).collect::<Vec<_>>());
}

async fn rules_record_a_state_once_across_instances(backend: Backend) {
    let (db, _guard, id) = setup(backend).await;
    let at = datetime!(2023-08-10 12:00:00);
    let opened = Event::voting_opened(datetime!(2023-08-01 00:00:00));
    // Eight "instances" observe the opening at once: one entry.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (db, e) = (db.clone(), opened.clone());
            tokio::spawn(async move {
                store::append(&db, id, KEY, at, &e, AppendRule::OnTransition(OPEN_CLOSE)).await
            })
        })
        .collect();
    let mut written = 0;
    for t in tasks {
        written += usize::from(t.await.unwrap().unwrap().is_some());
    }
    assert_eq!(written, 1);
    let digest = BallotsDigest {
        ballots: 0,
        sha256: "c".repeat(64),
    };
    let closed = Event::voting_closed(datetime!(2023-08-20 00:00:00), &digest, "e");
    let rule = AppendRule::OnTransition(OPEN_CLOSE);
    assert!(
        store::append(&db, id, KEY, at, &closed, rule)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store::append(&db, id, KEY, at, &closed, rule)
            .await
            .unwrap()
            .is_none()
    );
    // Re-opened (end moved later in the meta): recorded again.
    assert!(
        store::append(&db, id, KEY, at, &opened, rule)
            .await
            .unwrap()
            .is_some()
    );

    let meta = |commit: &str, files: &str| Event::meta_synced(commit, files);
    let changed = AppendRule::IfChanged;
    assert!(
        store::append(&db, id, KEY, at, &meta("c1", "f1"), changed)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store::append(&db, id, KEY, at, &meta("c1", "f1"), changed)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store::append(&db, id, KEY, at, &meta("c2", "f2"), changed)
            .await
            .unwrap()
            .is_some()
    );
    let kinds: Vec<String> = store::entries(&db, id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            "voting_opened",
            "voting_closed",
            "voting_opened",
            "meta_synced",
            "meta_synced"
        ]
    );
}

async fn an_edited_or_removed_row_is_named(backend: Backend) {
    let (db, _guard, id) = setup(backend).await;
    for i in 0..5 {
        let e = Event::exception_filed(i);
        store::append(
            &db,
            id,
            KEY,
            datetime!(2023-08-10 12:00:00),
            &e,
            AppendRule::Always,
        )
        .await
        .unwrap();
    }
    let edit = Query::update()
        .table("votebox_audit_event")
        .value("detail_json", r#"{"request":40}"#)
        .and_where(Expr::col("election_id").eq(id.0))
        .and_where(Expr::col("seq").eq(3))
        .to_owned();
    exec(&db, &edit).await.unwrap();
    let err = audit::verify(KEY, &store::entries(&db, id).await.unwrap()).unwrap_err();
    assert_eq!((err.seq, err.problem), (3, LinkProblem::HashMismatch));

    let remove = Query::delete()
        .from_table("votebox_audit_event")
        .and_where(Expr::col("election_id").eq(id.0))
        .and_where(Expr::col("seq").eq(2))
        .to_owned();
    exec(&db, &remove).await.unwrap();
    let err = audit::verify(KEY, &store::entries(&db, id).await.unwrap()).unwrap_err();
    assert_eq!(
        (err.seq, err.problem),
        (2, LinkProblem::UnexpectedSeq { found: 3 })
    );
}
