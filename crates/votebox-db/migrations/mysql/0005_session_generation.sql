-- votebox:rerunnable
-- Session generations: logout ends every session of a user, on every instance.
--
-- votebox_user_session: at most one row per user row (no row: generation 0).
--   generation: copied into the session cookie at login; a cookie whose generation differs from
--               the row's is logged out. Logout increments it, so a copied cookie stops working
--               and other instances see the logout at once. Elekto ignores this table.
-- MySQL commits DDL implicitly: the one statement is idempotent and the file is re-runnable.
-- Never edit this file once released (sqlx stores its checksum).

CREATE TABLE IF NOT EXISTS `votebox_user_session` (
    `user_id` INTEGER NOT NULL,
    `generation` BIGINT NOT NULL,
    PRIMARY KEY (`user_id`),
    FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
