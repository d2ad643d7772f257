-- votebox:rerunnable
-- Ballot secrecy against anyone holding the database (issue 12 items 2-4).
--
-- votebox_ballot_mix: one row per election with ballots cast or revoked since its last mix.
--   pending_since: when the first of those casts or revokes happened. The mixer
--                  (votebox_db::ballot_mixing) re-writes the election's `ballot` and `voter` rows
--                  in a random order and deletes the row, so insertion order, heap position and
--                  transaction ids stop pairing ballots with voters.
-- votebox_conclusion: one row per election whose voter→ballot links were erased
--   (delete_after). Inserted in the transaction that erases them, so of several instances only
--   one erases and flushes.
-- Elekto ignores both tables. Every statement is idempotent; never edit this file once released
-- (sqlx stores its checksum).

CREATE TABLE IF NOT EXISTS votebox_ballot_mix (
    election_id INTEGER NOT NULL,
    pending_since TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    PRIMARY KEY (election_id),
    FOREIGN KEY (election_id) REFERENCES election (id) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS votebox_conclusion (
    election_id INTEGER NOT NULL,
    concluded_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    PRIMARY KEY (election_id),
    FOREIGN KEY (election_id) REFERENCES election (id) ON DELETE CASCADE
);
