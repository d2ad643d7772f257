//! Ballot file formats (in progress).
