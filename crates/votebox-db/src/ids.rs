//! Typed row ids: a `UserId` cannot be passed where an `ElectionId` is expected.
//!
//! Elekto's ids are 32-bit integers on every engine; the types only name them. Each one decodes
//! from and binds as its integer (`sqlx::Type`, transparent) and converts into a sea-query
//! value, so queries use them as they are.

use std::fmt;

macro_rules! row_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, sqlx::Type)]
        #[sqlx(transparent)]
        pub struct $name(pub i32);

        impl From<$name> for sea_query::Value {
            fn from(id: $name) -> Self {
                id.0.into()
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> Self {
                id.0.into()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

row_id!(
    /// `user.id`: one GitHub account as Elekto stored it.
    UserId
);
row_id!(
    /// `election.id`: the row of one election directory of the meta repository.
    ElectionId
);
row_id!(
    /// `voter.id`: that a user voted in an election (with the encrypted link to the ballot).
    VoterId
);
row_id!(
    /// `request.id`: one exception request.
    RequestId
);
