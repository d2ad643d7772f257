//! Elekto-compatible voter→ballot link encryption. See the voting issue.
