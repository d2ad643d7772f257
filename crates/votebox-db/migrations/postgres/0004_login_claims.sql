-- votebox:rerunnable
-- One vote (and one exception request) per eligible login, whatever GitHub account holds it.
--
-- Eligibility is by login (voters.yaml), while `voter` and `request` rows point at a user row,
-- which follows a GitHub account (votebox_user_identity). When an account renames itself and a
-- second account takes the login, the login must not get a second ballot or request.
--
-- votebox_login_claim: one row per (election, kind, login) that has been used.
--   kind:    'ballot' (a cast; deleted again on revoke) or 'request' (an exception request).
--   login:   the GitHub login it was used under, lowercase (logins compare case-insensitively).
--   user_id: the user row that used it (revoke deletes the claims of that user row).
-- The primary key makes a second cast or request under the same login fail, also when two
-- instances or two accounts race. Holds nothing voter rows do not already say (who voted).
-- Backfill: every existing voter and request row claims its user's login (a row renamed by
-- votebox's identity matching claims the login it had, before " (renamed, user N)").

CREATE TABLE IF NOT EXISTS votebox_login_claim (
    election_id INTEGER NOT NULL,
    kind VARCHAR(16) NOT NULL,
    login VARCHAR(255) NOT NULL,
    user_id INTEGER NOT NULL,
    PRIMARY KEY (election_id, kind, login),
    FOREIGN KEY (election_id) REFERENCES election (id) ON DELETE CASCADE,
    FOREIGN KEY (user_id) REFERENCES "user" (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS ix_votebox_login_claim_user_id ON votebox_login_claim (user_id);

INSERT INTO votebox_login_claim (election_id, kind, login, user_id)
SELECT DISTINCT ON (v.election_id, lower(split_part(u.username, ' (renamed, user ', 1)))
       v.election_id, 'ballot', lower(split_part(u.username, ' (renamed, user ', 1)), u.id
FROM voter v JOIN "user" u ON u.id = v.user_id
WHERE v.election_id IS NOT NULL AND u.username IS NOT NULL
ORDER BY v.election_id, lower(split_part(u.username, ' (renamed, user ', 1)), u.id
ON CONFLICT DO NOTHING;

INSERT INTO votebox_login_claim (election_id, kind, login, user_id)
SELECT DISTINCT ON (r.election_id, lower(split_part(u.username, ' (renamed, user ', 1)))
       r.election_id, 'request', lower(split_part(u.username, ' (renamed, user ', 1)), u.id
FROM request r JOIN "user" u ON u.id = r.user_id
WHERE r.election_id IS NOT NULL AND u.username IS NOT NULL
ORDER BY r.election_id, lower(split_part(u.username, ' (renamed, user ', 1)), u.id
ON CONFLICT DO NOTHING;
