-- votebox:rerunnable
-- Several instances on one database (issue 16 item 2).
--
-- votebox_lease: one row per job that runs on one instance at a time.
--   name:       'meta-fetch' (fetching the meta repository), 'meta-resync' (the periodic sync),
--               'ballot-mix' (the secrecy timer's mix and delete_after conclusion).
--   holder:     the instance holding it (random per process).
--   expires_at: after this, any instance may take it. A holder extends it while it works, so a
--               killed instance frees its jobs within one expiry.
-- votebox_meta_snapshot: the meta commit being served, for every instance.
--   source:       SHA-256 (hex) of META_REPO, META_BRANCH and ELECTION_DIR.
--   commit_id:    the commit; instances poll this column and load the files when it changes.
--   files:        the files under ELECTION_DIR at that commit, as a gzipped tar archive.
--   published_at: when the fetching instance stored it.
-- votebox_kdf_claim: a user's one ballot key derivation in progress, on whichever instance.
--   expires_at:   extended by its holder while it works; a killed holder's claim lapses.
-- votebox_passphrase_attempt: one row per passphrase check (view, revoke) in the last window,
--   for the per-user limit that every instance shares.
-- Elekto ignores all four. Every statement is idempotent; never edit this file once released
-- (sqlx stores its checksum).

CREATE TABLE IF NOT EXISTS votebox_lease (
    name VARCHAR(64) NOT NULL,
    holder VARCHAR(64) NOT NULL,
    expires_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    PRIMARY KEY (name)
);

CREATE TABLE IF NOT EXISTS votebox_meta_snapshot (
    source VARCHAR(64) NOT NULL,
    commit_id VARCHAR(64) NOT NULL,
    files BYTEA NOT NULL,
    published_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    PRIMARY KEY (source)
);

CREATE TABLE IF NOT EXISTS votebox_kdf_claim (
    user_id INTEGER NOT NULL,
    holder VARCHAR(64) NOT NULL,
    expires_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    PRIMARY KEY (user_id),
    FOREIGN KEY (user_id) REFERENCES "user" (id) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS votebox_passphrase_attempt (
    user_id INTEGER NOT NULL,
    attempted_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    PRIMARY KEY (user_id, attempted_at),
    FOREIGN KEY (user_id) REFERENCES "user" (id) ON DELETE CASCADE
);
