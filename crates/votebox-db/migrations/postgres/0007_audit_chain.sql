-- votebox:rerunnable
-- The audit chain of each election (issue 14 item 4; format in votebox_core::audit and
-- docs/security.md "Audit chain").
--
-- votebox_audit_event: one row per event, numbered 1, 2, 3… per election (seq). Each row holds
--   the hash of the previous one (prev_hash) and its own (hash = SHA-256 of prev_hash and the
--   canonical entry), so an edited, removed or reordered row shows. The primary key
--   (election_id, seq) is what keeps several instances from forking the chain: two appends of
--   the same seq cannot both commit; the loser reads the new head and tries again.
--   at: when votebox recorded the event (UTC, whole seconds). kind: the event's name.
--   detail_json: the event's detail as the exact JSON text that was hashed (TEXT, never JSON:
--   the bytes must not be rewritten). No row is ever written per ballot cast or revoked.
-- Elekto ignores the table. Every statement is idempotent; never edit this file once released
-- (sqlx stores its checksum).

CREATE TABLE IF NOT EXISTS votebox_audit_event (
    election_id INTEGER NOT NULL,
    seq BIGINT NOT NULL,
    at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    kind VARCHAR(64) NOT NULL,
    detail_json TEXT NOT NULL,
    prev_hash CHAR(64) NOT NULL,
    hash CHAR(64) NOT NULL,
    PRIMARY KEY (election_id, seq),
    FOREIGN KEY (election_id) REFERENCES election (id) ON DELETE CASCADE
);
