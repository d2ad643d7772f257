-- votebox:rerunnable
-- Elekto's tables at schema version 2, exactly as Elekto (SQLAlchemy 1.4 `create_all`) creates them
-- on SQLite (same text apart from whitespace, so sqlite_master reads alike):
-- INTEGER primary keys are rowid aliases without AUTOINCREMENT (ids of deleted last rows are reused,
-- as in Elekto), "key" is quoted, timestamps are DATETIME text.
-- Every statement is idempotent so that the tables of a legacy Elekto v2 file can be adopted.
-- Never edit this file once released: sqlx stores its checksum.

CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER NOT NULL,
    PRIMARY KEY (version)
);

CREATE TABLE IF NOT EXISTS user (
    id INTEGER NOT NULL,
    username VARCHAR(255),
    name VARCHAR(255),
    token VARCHAR(255),
    token_expires_at DATETIME,
    created_at DATETIME,
    updated_at DATETIME,
    PRIMARY KEY (id),
    UNIQUE (username)
);

CREATE TABLE IF NOT EXISTS election (
    id INTEGER NOT NULL,
    "key" VARCHAR(255) NOT NULL,
    name VARCHAR(255),
    created_at DATETIME,
    updated_at DATETIME,
    PRIMARY KEY (id),
    UNIQUE ("key")
);

CREATE TABLE IF NOT EXISTS voter (
    id INTEGER NOT NULL,
    user_id INTEGER,
    election_id INTEGER,
    created_at DATETIME,
    updated_at DATETIME,
    salt BLOB,
    ballot_id BLOB,
    PRIMARY KEY (id),
    FOREIGN KEY(user_id) REFERENCES user (id) ON DELETE CASCADE,
    FOREIGN KEY(election_id) REFERENCES election (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS ix_voter_election_id ON voter (election_id);

CREATE TABLE IF NOT EXISTS ballot (
    id CHAR(32) NOT NULL,
    election_id INTEGER,
    rank INTEGER,
    candidate VARCHAR(255) NOT NULL,
    voter VARCHAR(255) NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(election_id) REFERENCES election (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS ix_ballot_election_id ON ballot (election_id);

CREATE TABLE IF NOT EXISTS request (
    id INTEGER NOT NULL,
    user_id INTEGER,
    election_id INTEGER,
    name VARCHAR(255),
    email VARCHAR(255),
    chat VARCHAR(255),
    description TEXT,
    comments TEXT,
    reviewed BOOLEAN,
    created_at DATETIME,
    updated_at DATETIME,
    PRIMARY KEY (id),
    FOREIGN KEY(user_id) REFERENCES user (id) ON DELETE CASCADE,
    FOREIGN KEY(election_id) REFERENCES election (id) ON DELETE CASCADE
);

-- Elekto inserts the single row 2 when it creates the table; keep an existing value (Elekto
-- accepts a higher one).
INSERT INTO schema_version (version)
SELECT 2 WHERE NOT EXISTS (SELECT 1 FROM schema_version);
