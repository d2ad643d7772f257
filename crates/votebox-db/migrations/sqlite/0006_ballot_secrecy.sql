-- votebox:rerunnable
-- Ballot secrecy against anyone holding the database (issue 12 items 2-4).
-- See postgres/0006_ballot_secrecy.sql for the tables' meaning; same columns here.

CREATE TABLE IF NOT EXISTS votebox_ballot_mix (
    election_id INTEGER NOT NULL,
    pending_since DATETIME NOT NULL,
    PRIMARY KEY (election_id),
    FOREIGN KEY (election_id) REFERENCES election (id) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS votebox_conclusion (
    election_id INTEGER NOT NULL,
    concluded_at DATETIME NOT NULL,
    PRIMARY KEY (election_id),
    FOREIGN KEY (election_id) REFERENCES election (id) ON DELETE CASCADE
);
