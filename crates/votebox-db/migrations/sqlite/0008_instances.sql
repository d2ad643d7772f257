-- votebox:rerunnable
-- Several instances on one database (issue 16 item 2). SQLite serves one instance only, but the
-- tables exist on every engine so that the code is the same.
-- See postgres/0008_instances.sql for the tables' meaning; same columns here.

CREATE TABLE IF NOT EXISTS votebox_lease (
    name VARCHAR(64) NOT NULL,
    holder VARCHAR(64) NOT NULL,
    expires_at DATETIME NOT NULL,
    PRIMARY KEY (name)
);

CREATE TABLE IF NOT EXISTS votebox_meta_snapshot (
    source VARCHAR(64) NOT NULL,
    commit_id VARCHAR(64) NOT NULL,
    files BLOB NOT NULL,
    published_at DATETIME NOT NULL,
    PRIMARY KEY (source)
);

CREATE TABLE IF NOT EXISTS votebox_kdf_claim (
    user_id INTEGER NOT NULL,
    holder VARCHAR(64) NOT NULL,
    expires_at DATETIME NOT NULL,
    PRIMARY KEY (user_id),
    FOREIGN KEY (user_id) REFERENCES user (id) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS votebox_passphrase_attempt (
    user_id INTEGER NOT NULL,
    attempted_at DATETIME NOT NULL,
    PRIMARY KEY (user_id, attempted_at),
    FOREIGN KEY (user_id) REFERENCES user (id) ON DELETE CASCADE
);
