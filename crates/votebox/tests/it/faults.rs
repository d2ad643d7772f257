//! Fault tests that need no server restarts (issue 7, item 5), on the three engines: the meta
//! repository force-pushed to garbage, and malformed webhook calls. The meta repository
//! becoming unreachable is `pages::webhook_git_failure_keeps_snapshot`; database restarts under
//! load are `load::db_restart_*` (ignored: `bash benches/faults.sh`).

use reqwest::StatusCode;

use crate::harness::{META_SECRET, db_test};

const GB: &str = "Select our 2021 General Board Rep";

async fn db_keys(app: &crate::harness::TestApp) -> Vec<String> {
    let mut keys: Vec<String> = votebox_db::elections::list(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.key)
        .collect();
    keys.sort();
    keys
}

db_test!(
    meta_force_pushed_garbage_keeps_the_last_good_snapshot,
    |app| {
        let good_commit = app.state.snapshot().unwrap().commit.clone();
        let keys = db_keys(&app).await;

        // Every election file replaced by junk, history rewritten, force-pushed.
        for dir in [
            "elections/2021/GB",
            "elections/2021/TOC",
            "elections/name_the_app",
            "elections/xss",
            "elections/2024/future",
        ] {
            app.meta.write(
                &format!("{dir}/election.yaml"),
                "\u{0}\u{1}garbage: [unclosed\n\t- : :\n",
            );
        }
        app.meta.amend_and_force_push();
        let resp = app.signed_webhook().await;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let text = resp.text().await.unwrap();
        assert!(text.contains("previous version is still served"), "{text}");
        assert_eq!(app.state.snapshot().unwrap().commit, good_commit);
        assert!(app.ok_page("/elections").await.contains(GB));
        assert!(app.ok_page("/elections/2021---GB").await.contains(GB));
        assert_eq!(app.get("/healthz/ready").await.status(), StatusCode::OK);
        assert_eq!(db_keys(&app).await, keys);

        // A tree with no elections at all (an unrelated push): refused the same way.
        app.meta.remove("elections");
        app.meta.write("README.md", "not a meta repository\n");
        app.meta.amend_and_force_push();
        assert_eq!(
            app.signed_webhook().await.status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(app.state.snapshot().unwrap().commit, good_commit);
        assert!(app.ok_page("/elections/2021---GB").await.contains(GB));

        // One broken election next to valid ones is not garbage: synced, isolated (checklist 23).
        app.meta.remove("README.md");
        app.meta.write(
        "elections/ok/election.yaml",
        "name: Fine\norganization: O\nstart_datetime: 2023-01-01 00:00:00\nend_datetime: 2023-12-31 00:00:00\n",
    );
        app.meta
            .write("elections/ok/voters.yaml", "eligible_voters: [a]\n");
        app.meta
            .write("elections/bad/election.yaml", "name: [unclosed\n");
        app.meta.commit_and_push("one good, one bad");
        assert_eq!(app.signed_webhook().await.status(), StatusCode::OK);
        assert_ne!(app.state.snapshot().unwrap().commit, good_commit);
        assert!(app.ok_page("/elections/ok").await.contains("Fine"));
    }
);

db_test!(
    malformed_webhook_bodies_are_refused_and_change_nothing,
    |app| {
        let commit = app.state.snapshot().unwrap().commit.clone();
        let keys = db_keys(&app).await;
        // A new election is waiting in the remote: only a valid call may pick it up.
        app.meta.write(
        "elections/new/election.yaml",
        "name: New\norganization: O\nstart_datetime: 2023-01-01 00:00:00\nend_datetime: 2023-12-31 00:00:00\n",
    );
        app.meta
            .write("elections/new/voters.yaml", "eligible_voters: [a]\n");
        app.meta.commit_and_push("new election");

        let garbage: Vec<(Vec<u8>, Option<String>)> = vec![
            (b"".to_vec(), None),
            (b"\x00\xff\xfe not json".to_vec(), None),
            (br#"{"ref": "refs/heads/main""#.to_vec(), None),
            (
                br#"{"ref":"refs/heads/main"}"#.to_vec(),
                Some("sha256=".to_owned()),
            ),
            (
                br#"{"ref":"refs/heads/main"}"#.to_vec(),
                Some("sha256=zz-not-hex".to_owned()),
            ),
            (
                br#"{"ref":"refs/heads/main"}"#.to_vec(),
                Some(format!("sha256={}", "0".repeat(64))),
            ),
            (
                br#"{"ref":"refs/heads/main"}"#.to_vec(),
                // Signed, but over another body.
                Some(votebox_meta::signature_header(META_SECRET, b"{}")),
            ),
            (
                br#"{"ref":"refs/heads/main"}"#.to_vec(),
                Some(votebox_meta::signature_header(
                    "wrong secret",
                    br#"{"ref":"refs/heads/main"}"#,
                )),
            ),
        ];
        for (body, sig) in garbage {
            let resp = app.webhook(&body, sig.as_deref()).await;
            assert!(
                resp.status().is_client_error(),
                "{:?} → {}",
                String::from_utf8_lossy(&body),
                resp.status()
            );
        }
        // Over the body limit, signed or not: 413 (or a refused body write), nothing done.
        let big = vec![b'{'; 1024 * 1024 + 10];
        let sig = votebox_meta::signature_header(META_SECRET, &big);
        let status = app.oversized_webhook(&big, &sig).await;
        assert!(
            matches!(status, None | Some(StatusCode::PAYLOAD_TOO_LARGE)),
            "{status:?}"
        );
        // Wrong method.
        let resp = app
            .client
            .get(app.url("/v1/webhooks/meta/sync"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);

        assert_eq!(app.state.snapshot().unwrap().commit, commit, "no sync ran");
        assert_eq!(db_keys(&app).await, keys, "the database did not change");
        assert_eq!(app.page("/elections/new").await.0, StatusCode::NOT_FOUND);

        // The real thing still works.
        assert_eq!(app.signed_webhook().await.status(), StatusCode::OK);
        assert!(app.ok_page("/elections/new").await.contains("New"));
    }
);
