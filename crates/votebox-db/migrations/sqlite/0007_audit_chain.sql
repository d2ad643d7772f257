-- votebox:rerunnable
-- The audit chain of each election (issue 14 item 4).
-- See postgres/0007_audit_chain.sql for the table's meaning; same columns here.

CREATE TABLE IF NOT EXISTS votebox_audit_event (
    election_id INTEGER NOT NULL,
    seq BIGINT NOT NULL,
    at DATETIME NOT NULL,
    kind VARCHAR(64) NOT NULL,
    detail_json TEXT NOT NULL,
    prev_hash CHAR(64) NOT NULL,
    hash CHAR(64) NOT NULL,
    PRIMARY KEY (election_id, seq),
    FOREIGN KEY (election_id) REFERENCES election (id) ON DELETE CASCADE
);
