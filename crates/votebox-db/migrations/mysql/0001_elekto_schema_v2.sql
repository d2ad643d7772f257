-- votebox:rerunnable
-- Elekto's tables at schema version 2, as Elekto (SQLAlchemy 1.4 `create_all`) creates them on
-- MySQL/MariaDB: same names, column order, types, nullability, constraints and index names
-- (`key` and `rank` need backticks; InnoDB names the FKs <table>_ibfk_N and adds KEY user_id /
-- KEY election_id for FKs without an index, as in Elekto's databases). The two election_id
-- indexes are declared inside CREATE TABLE because MySQL has no CREATE INDEX IF NOT EXISTS.
-- Differences from Elekto: ENGINE/CHARSET are explicit (Elekto used the database default) so a
-- latin1 server default cannot break non-ASCII names.
--
-- MySQL DDL commits implicitly, so this file is not atomic: every statement is idempotent, and the
-- `votebox:rerunnable` marker above lets `migrate::run` re-run it after a crash (dirty row).
-- Never edit this file once released: sqlx stores its checksum.

CREATE TABLE IF NOT EXISTS `schema_version` (
    `version` INTEGER NOT NULL,
    PRIMARY KEY (`version`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `user` (
    `id` INTEGER NOT NULL AUTO_INCREMENT,
    `username` VARCHAR(255),
    `name` VARCHAR(255),
    `token` VARCHAR(255),
    `token_expires_at` DATETIME,
    `created_at` DATETIME,
    `updated_at` DATETIME,
    PRIMARY KEY (`id`),
    UNIQUE (`username`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `election` (
    `id` INTEGER NOT NULL AUTO_INCREMENT,
    `key` VARCHAR(255) NOT NULL,
    `name` VARCHAR(255),
    `created_at` DATETIME,
    `updated_at` DATETIME,
    PRIMARY KEY (`id`),
    UNIQUE (`key`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `voter` (
    `id` INTEGER NOT NULL AUTO_INCREMENT,
    `user_id` INTEGER,
    `election_id` INTEGER,
    `created_at` DATETIME,
    `updated_at` DATETIME,
    `salt` BLOB,
    `ballot_id` BLOB,
    PRIMARY KEY (`id`),
    INDEX `ix_voter_election_id` (`election_id`),
    FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE CASCADE,
    FOREIGN KEY (`election_id`) REFERENCES `election` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `ballot` (
    `id` CHAR(32) NOT NULL,
    `election_id` INTEGER,
    `rank` INTEGER,
    `candidate` VARCHAR(255) NOT NULL,
    `voter` VARCHAR(255) NOT NULL,
    PRIMARY KEY (`id`),
    INDEX `ix_ballot_election_id` (`election_id`),
    FOREIGN KEY (`election_id`) REFERENCES `election` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `request` (
    `id` INTEGER NOT NULL AUTO_INCREMENT,
    `user_id` INTEGER,
    `election_id` INTEGER,
    `name` VARCHAR(255),
    `email` VARCHAR(255),
    `chat` VARCHAR(255),
    `description` TEXT,
    `comments` TEXT,
    `reviewed` BOOL,
    `created_at` DATETIME,
    `updated_at` DATETIME,
    PRIMARY KEY (`id`),
    FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE CASCADE,
    FOREIGN KEY (`election_id`) REFERENCES `election` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Elekto inserts the single row 2 when it creates the table; keep an existing value (Elekto
-- accepts a higher one).
INSERT INTO `schema_version` (`version`)
SELECT 2 FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM `schema_version`);
