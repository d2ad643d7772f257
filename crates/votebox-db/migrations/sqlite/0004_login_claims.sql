-- votebox:rerunnable
-- One vote (and one exception request) per eligible login, whatever GitHub account holds it.
-- See postgres/0004_login_claims.sql for the table's meaning; same columns and backfill here.

CREATE TABLE IF NOT EXISTS votebox_login_claim (
    election_id INTEGER NOT NULL,
    kind VARCHAR(16) NOT NULL,
    login VARCHAR(255) NOT NULL,
    user_id INTEGER NOT NULL,
    PRIMARY KEY (election_id, kind, login),
    FOREIGN KEY (election_id) REFERENCES election (id) ON DELETE CASCADE,
    FOREIGN KEY (user_id) REFERENCES user (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS ix_votebox_login_claim_user_id ON votebox_login_claim (user_id);

INSERT OR IGNORE INTO votebox_login_claim (election_id, kind, login, user_id)
SELECT v.election_id, 'ballot',
       lower(CASE WHEN instr(u.username, ' (renamed, user ') > 0
                  THEN substr(u.username, 1, instr(u.username, ' (renamed, user ') - 1)
                  ELSE u.username END),
       u.id
FROM voter v JOIN user u ON u.id = v.user_id
WHERE v.election_id IS NOT NULL AND u.username IS NOT NULL
ORDER BY v.election_id, u.id;

INSERT OR IGNORE INTO votebox_login_claim (election_id, kind, login, user_id)
SELECT r.election_id, 'request',
       lower(CASE WHEN instr(u.username, ' (renamed, user ') > 0
                  THEN substr(u.username, 1, instr(u.username, ' (renamed, user ') - 1)
                  ELSE u.username END),
       u.id
FROM request r JOIN user u ON u.id = r.user_id
WHERE r.election_id IS NOT NULL AND u.username IS NOT NULL
ORDER BY r.election_id, u.id;
