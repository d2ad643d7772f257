//! Step 4: a copy of a SQLite database before the first change.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::Connection;

use super::sql::fetch;
use crate::query::Conn;
use crate::{DbError, Result};

/// `VACUUM INTO` a new file next to the database (`<stem>.before-votebox-<UTC time>.<ext>`),
/// from a second, read-only connection: the caller's transaction holds the write lock but has
/// written nothing yet, so the copy is the database as it is. `None` for in-memory databases.
pub(super) async fn sqlite_backup(conn: &mut Conn<'_>) -> Result<Option<PathBuf>> {
    let rows: Vec<(String, String)> =
        fetch(conn, "SELECT name, file FROM pragma_database_list").await?;
    let Some((_, file)) = rows.into_iter().find(|(n, _)| n == "main") else {
        return Ok(None);
    };
    if file.is_empty() {
        return Ok(None);
    }
    let source = PathBuf::from(&file);
    let target = backup_path(&source);
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&source)
        .read_only(true)
        .busy_timeout(Duration::from_secs(30));
    let mut reader = sqlx::SqliteConnection::connect_with(&opts).await?;
    let result = sqlx::query("VACUUM INTO ?")
        .bind(target.to_string_lossy().into_owned())
        .execute(&mut reader)
        .await;
    let _ = reader.close().await;
    result.map_err(|e| {
        DbError::Migrate(format!(
            "cannot write the backup {} before upgrading (is the folder writable?): {e}; \
             nothing was changed",
            target.display()
        ))
    })?;
    Ok(Some(target))
}

pub(super) fn backup_path(source: &Path) -> PathBuf {
    let now = time::OffsetDateTime::now_utc();
    let stamp = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let dir = source.parent().unwrap_or(Path::new("."));
    let stem = source
        .file_stem()
        .map_or_else(|| "elekto".into(), |s| s.to_string_lossy().into_owned());
    let ext = source
        .extension()
        .map_or_else(|| "db".into(), |s| s.to_string_lossy().into_owned());
    let mut n = 0;
    loop {
        let suffix = if n == 0 {
            String::new()
        } else {
            format!("-{n}")
        };
        let p = dir.join(format!("{stem}.before-votebox-{stamp}{suffix}.{ext}"));
        if !p.exists() {
            return p;
        }
        n += 1;
    }
}
