//! What a ballot mix costs: 10,000 votes × 5 candidates (50,000 `ballot` rows, 10,000 `voter`
//! rows) in one election, mixed once on each engine (`benches/mix.sh` runs it).
//!
//! `cargo run --release -p votebox-db --example bench_mix [-- VOTES [ENGINE…]]`; throw-away
//! databases as in the tests (`VOTEBOX_TEST_POSTGRES_URL`, `VOTEBOX_TEST_MYSQL_URL`).

use std::time::Instant;

use votebox_db::testing::sea_query::Query;
use votebox_db::testing::{self, exec};
use votebox_db::{Backend, ballot_mixing, elections};

const CANDIDATES: usize = 5;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let votes: usize = args.next().map_or(10_000, |v| v.parse().expect("VOTES"));
    let engines: Vec<Backend> = {
        let named: Vec<Backend> = args
            .filter_map(|a| Backend::ALL.into_iter().find(|b| b.name() == a))
            .collect();
        if named.is_empty() {
            Backend::ALL.to_vec()
        } else {
            named
        }
    };
    for backend in engines {
        let (db, _url, _guard) = testing::migrated_database(backend).await;
        elections::sync(&db, &[("bench".to_owned(), "Bench".to_owned())])
            .await
            .unwrap();
        let eid = elections::find_by_key(&db, "bench")
            .await
            .unwrap()
            .unwrap()
            .id;
        let load = Instant::now();
        for chunk in (0..votes).collect::<Vec<_>>().chunks(200) {
            let mut ballots = Query::insert();
            ballots.into_table("ballot").columns([
                "id",
                "election_id",
                "rank",
                "candidate",
                "voter",
            ]);
            let mut voters = Query::insert();
            voters
                .into_table("voter")
                .columns(["election_id", "salt", "ballot_id"]);
            for &v in chunk {
                let uuid = votebox_db::ballots::new_ballot_voter();
                for c in 0..CANDIDATES {
                    ballots.values_panic([
                        uuid::Uuid::new_v4().simple().to_string().into(),
                        eid.into(),
                        (((v + c) % CANDIDATES) as i32 + 1).into(),
                        format!("candidate-{c}").into(),
                        uuid.clone().into(),
                    ]);
                }
                voters.values_panic([eid.into(), vec![7u8; 16].into(), vec![9u8; 76].into()]);
            }
            exec(&db, &ballots).await.unwrap();
            exec(&db, &voters).await.unwrap();
        }
        let loaded = load.elapsed();
        let start = Instant::now();
        let report = ballot_mixing::mix_election(&db, eid).await.unwrap();
        let mixed = start.elapsed();
        println!(
            "{backend:<8} votes={votes} ballot_rows={} voter_rows={} load={:.2}s mix+flush={:.2}s",
            report.ballot_rows,
            report.voter_rows,
            loaded.as_secs_f64(),
            mixed.as_secs_f64()
        );
        db.close().await;
    }
}
