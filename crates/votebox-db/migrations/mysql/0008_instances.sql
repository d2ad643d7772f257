-- votebox:rerunnable
-- Several instances on one database (issue 16 item 2).
-- See postgres/0008_instances.sql for the tables' meaning; same columns here.
-- `files` is LONGBLOB; the server's max_allowed_packet (16 MiB by default on MariaDB) bounds the
-- compressed meta archive.

CREATE TABLE IF NOT EXISTS `votebox_lease` (
    `name` VARCHAR(64) NOT NULL,
    `holder` VARCHAR(64) NOT NULL,
    `expires_at` DATETIME(6) NOT NULL,
    PRIMARY KEY (`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `votebox_meta_snapshot` (
    `source` VARCHAR(64) NOT NULL,
    `commit_id` VARCHAR(64) NOT NULL,
    `files` LONGBLOB NOT NULL,
    `published_at` DATETIME(6) NOT NULL,
    PRIMARY KEY (`source`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `votebox_kdf_claim` (
    `user_id` INTEGER NOT NULL,
    `holder` VARCHAR(64) NOT NULL,
    `expires_at` DATETIME(6) NOT NULL,
    PRIMARY KEY (`user_id`),
    FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `votebox_passphrase_attempt` (
    `user_id` INTEGER NOT NULL,
    `attempted_at` DATETIME(6) NOT NULL,
    PRIMARY KEY (`user_id`, `attempted_at`),
    FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
