-- votebox:rerunnable
-- GitHub identity: the numeric GitHub user id of a `user` row, in a table of votebox's own
-- (Elekto's `user` table stays exactly as Elekto made it; the Python server ignores this table).
--
-- votebox_user_identity: at most one row per user row, at most one user row per GitHub account.
--   github_id:  GitHub's numeric user id (never changes, unlike the login). A login is matched by
--               this id first, so a renamed GitHub account keeps its user row and voting history;
--               a legacy row (login only, written by Elekto) is adopted on its first login.
--   created_at: when the id was first recorded for this user row.
-- Every statement is idempotent; never edit this file once released (sqlx stores its checksum).

CREATE TABLE IF NOT EXISTS votebox_user_identity (
    user_id INTEGER NOT NULL,
    github_id BIGINT NOT NULL,
    created_at TIMESTAMP WITHOUT TIME ZONE,
    PRIMARY KEY (user_id),
    UNIQUE (github_id),
    FOREIGN KEY (user_id) REFERENCES "user" (id) ON DELETE CASCADE
);
