//! Every table votebox reads or writes, in one place: sea-query identifiers for the queries, and
//! the column lists that the legacy upgrade and the tests check Elekto's tables against.
//!
//! Elekto's tables keep Elekto's names (schema version 2); sea-query quotes them for each dialect,
//! so `"user"` and `` `key` `` need no special care. votebox's own tables are prefixed `votebox_`.

use sea_query::Iden;

/// Elekto's tables at schema 2 and the columns Elekto's code reads and writes.
pub const ELEKTO_COLUMNS: &[(&str, &[&str])] = &[
    (
        "user",
        &[
            "id",
            "username",
            "name",
            "token",
            "token_expires_at",
            "created_at",
            "updated_at",
        ],
    ),
    (
        "election",
        &["id", "key", "name", "created_at", "updated_at"],
    ),
    (
        "voter",
        &[
            "id",
            "user_id",
            "election_id",
            "created_at",
            "updated_at",
            "salt",
            "ballot_id",
        ],
    ),
    (
        "ballot",
        &["id", "election_id", "rank", "candidate", "voter"],
    ),
    (
        "request",
        &[
            "id",
            "user_id",
            "election_id",
            "name",
            "email",
            "chat",
            "description",
            "comments",
            "reviewed",
            "created_at",
            "updated_at",
        ],
    ),
    ("schema_version", &["version"]),
];

/// Columns Elekto 0.6's upgrade added to schema 1 (the link of a voter to their ballot).
pub const ADDED_IN_SCHEMA_2: &[(&str, &str)] = &[("voter", "salt"), ("voter", "ballot_id")];

/// Columns of schema 1 that schema 2 dropped (they tied each ballot to its voter row by time).
pub const DROPPED_IN_SCHEMA_2: &[(&str, &str)] =
    &[("ballot", "created_at"), ("ballot", "updated_at")];

/// The names of Elekto's tables.
pub fn elekto_tables() -> impl Iterator<Item = &'static str> {
    ELEKTO_COLUMNS.iter().map(|(table, _)| *table)
}

#[derive(Iden, Clone, Copy)]
pub(crate) enum Election {
    Table,
    Id,
    Key,
    Name,
    CreatedAt,
    UpdatedAt,
}

#[derive(Iden, Clone, Copy)]
pub(crate) enum User {
    Table,
    Id,
    Username,
    Name,
    Token,
    TokenExpiresAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(Iden, Clone, Copy)]
pub(crate) enum Voter {
    Table,
    Id,
    UserId,
    ElectionId,
    CreatedAt,
    UpdatedAt,
    Salt,
    BallotId,
}

#[derive(Iden, Clone, Copy)]
pub(crate) enum Ballot {
    Table,
    /// SQLite's own row id (the mix keeps it, so each row stays the same row).
    #[iden = "rowid"]
    RowId,
    Id,
    ElectionId,
    Rank,
    Candidate,
    Voter,
}

#[derive(Iden, Clone, Copy)]
pub(crate) enum Request {
    Table,
    Id,
    UserId,
    ElectionId,
    Name,
    Email,
    Chat,
    Description,
    Comments,
    Reviewed,
    CreatedAt,
    UpdatedAt,
}

/// votebox's own per-election state (migration 0002).
#[derive(Iden, Clone, Copy)]
pub(crate) enum VoteboxElectionState {
    Table,
    ElectionId,
    OrphanedAt,
}

/// GitHub numeric id of a user row (migration 0003).
#[derive(Iden, Clone, Copy)]
pub(crate) enum VoteboxUserIdentity {
    Table,
    UserId,
    GithubId,
    CreatedAt,
}

/// An eligible login used for a ballot or an exception request (migration 0004).
#[derive(Iden, Clone, Copy)]
pub(crate) enum VoteboxLoginClaim {
    Table,
    ElectionId,
    Kind,
    Login,
    UserId,
}

/// Session generation of a user row (migration 0005).
#[derive(Iden, Clone, Copy)]
pub(crate) enum VoteboxUserSession {
    Table,
    UserId,
    Generation,
}

/// An election with ballots cast or revoked since its last mix (migration 0006).
#[derive(Iden, Clone, Copy)]
pub(crate) enum VoteboxBallotMix {
    Table,
    ElectionId,
    PendingSince,
}

/// An election whose voter→ballot links were erased (migration 0006).
#[derive(Iden, Clone, Copy)]
pub(crate) enum VoteboxConclusion {
    Table,
    ElectionId,
    ConcludedAt,
}

/// One event of an election's audit chain (migration 0007).
#[derive(Iden, Clone, Copy)]
pub(crate) enum VoteboxAuditEvent {
    Table,
    ElectionId,
    Seq,
    At,
    Kind,
    DetailJson,
    PrevHash,
    Hash,
}

/// A job that one instance runs at a time (migration 0008).
#[derive(Iden, Clone, Copy)]
pub(crate) enum VoteboxLease {
    Table,
    Name,
    Holder,
    ExpiresAt,
}

/// The meta commit every instance serves, with its files (migration 0008).
#[derive(Iden, Clone, Copy)]
pub(crate) enum VoteboxMetaSnapshot {
    Table,
    Source,
    CommitId,
    Files,
    PublishedAt,
}

/// A user's ballot key derivation in progress, on any instance (migration 0008).
#[derive(Iden, Clone, Copy)]
pub(crate) enum VoteboxKdfClaim {
    Table,
    UserId,
    Holder,
    ExpiresAt,
}

/// A passphrase check of a user, for the limit all instances share (migration 0008).
#[derive(Iden, Clone, Copy)]
pub(crate) enum VoteboxPassphraseAttempt {
    Table,
    UserId,
    AttemptedAt,
}
