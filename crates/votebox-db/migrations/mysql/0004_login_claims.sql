-- votebox:rerunnable
-- One vote (and one exception request) per eligible login, whatever GitHub account holds it.
-- See postgres/0004_login_claims.sql for the table's meaning; same columns and backfill here.

CREATE TABLE IF NOT EXISTS `votebox_login_claim` (
    `election_id` INTEGER NOT NULL,
    `kind` VARCHAR(16) NOT NULL,
    `login` VARCHAR(255) NOT NULL,
    `user_id` INTEGER NOT NULL,
    PRIMARY KEY (`election_id`, `kind`, `login`),
    KEY `ix_votebox_login_claim_user_id` (`user_id`),
    FOREIGN KEY (`election_id`) REFERENCES `election` (`id`) ON DELETE CASCADE,
    FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

INSERT IGNORE INTO `votebox_login_claim` (`election_id`, `kind`, `login`, `user_id`)
SELECT v.`election_id`, 'ballot', LOWER(SUBSTRING_INDEX(u.`username`, ' (renamed, user ', 1)), u.`id`
FROM `voter` v JOIN `user` u ON u.`id` = v.`user_id`
WHERE v.`election_id` IS NOT NULL AND u.`username` IS NOT NULL
ORDER BY v.`election_id`, u.`id`;

INSERT IGNORE INTO `votebox_login_claim` (`election_id`, `kind`, `login`, `user_id`)
SELECT r.`election_id`, 'request', LOWER(SUBSTRING_INDEX(u.`username`, ' (renamed, user ', 1)), u.`id`
FROM `request` r JOIN `user` u ON u.`id` = r.`user_id`
WHERE r.`election_id` IS NOT NULL AND u.`username` IS NOT NULL
ORDER BY r.`election_id`, u.`id`;
