-- votebox:rerunnable
-- votebox-only state, in tables of its own: Elekto's tables stay exactly as Elekto made them, so
-- the Python server can still run on this database (it ignores unknown tables).
--
-- votebox_election_state: one optional row per election row.
--   orphaned_at: when sync first found the election's key missing from the meta repository
--                (NULL or no row: the key is in the meta). votebox never deletes such elections
--                on its own (Elekto did, destroying ballots); an operator deletes them explicitly.

CREATE TABLE IF NOT EXISTS `votebox_election_state` (
    `election_id` INTEGER NOT NULL,
    `orphaned_at` DATETIME(6),
    PRIMARY KEY (`election_id`),
    FOREIGN KEY (`election_id`) REFERENCES `election` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
