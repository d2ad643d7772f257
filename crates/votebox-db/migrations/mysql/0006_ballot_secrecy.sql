-- votebox:rerunnable
-- Ballot secrecy against anyone holding the database (issue 12 items 2-4).
-- See postgres/0006_ballot_secrecy.sql for the tables' meaning; same columns here.
-- MySQL commits DDL implicitly: each statement is idempotent and the file is re-runnable.

CREATE TABLE IF NOT EXISTS `votebox_ballot_mix` (
    `election_id` INTEGER NOT NULL,
    `pending_since` DATETIME(6) NOT NULL,
    PRIMARY KEY (`election_id`),
    FOREIGN KEY (`election_id`) REFERENCES `election` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `votebox_conclusion` (
    `election_id` INTEGER NOT NULL,
    `concluded_at` DATETIME(6) NOT NULL,
    PRIMARY KEY (`election_id`),
    FOREIGN KEY (`election_id`) REFERENCES `election` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
