//! Step 3: may this user make the changes? (MySQL; PostgreSQL learns it from the failed
//! statement inside its transaction.)

use super::plan::Plan;
use super::sql::{fetch, lit};
use crate::query::Conn;
use crate::{DbError, Result};

pub(super) async fn mysql_missing_privileges(
    conn: &mut Conn<'_>,
    plan: &Plan,
) -> Result<Vec<String>> {
    let (user,): (String,) = fetch(conn, "SELECT CAST(CURRENT_USER() AS CHAR)")
        .await?
        .into_iter()
        .next()
        .unwrap_or_default();
    let roles: Vec<(Option<String>,)> = fetch(conn, "SELECT CAST(CURRENT_ROLE() AS CHAR)")
        .await
        .unwrap_or_default();
    let mut grantees = vec![grantee(&user)];
    for r in roles
        .into_iter()
        .filter_map(|(r,)| r)
        .flat_map(|r| r.split(',').map(str::to_owned).collect::<Vec<_>>())
    {
        let r = r.trim().replace('`', "");
        if r.is_empty() || r.eq_ignore_ascii_case("none") {
            continue;
        }
        grantees.push(grantee(&r));
        grantees.push(format!("'{}'", r.split('@').next().unwrap_or(&r)));
        grantees.push(format!("'{}'@''", r.split('@').next().unwrap_or(&r)));
    }
    let list = grantees
        .iter()
        .map(|g| lit(g))
        .collect::<Vec<_>>()
        .join(", ");
    let rows: Vec<(String, String)> = fetch(
        conn,
        &format!(
            "SELECT '*', CAST(PRIVILEGE_TYPE AS CHAR) FROM information_schema.USER_PRIVILEGES WHERE GRANTEE IN ({list}) \
             UNION ALL SELECT '*', CAST(PRIVILEGE_TYPE AS CHAR) FROM information_schema.SCHEMA_PRIVILEGES \
               WHERE GRANTEE IN ({list}) AND DATABASE() LIKE TABLE_SCHEMA \
             UNION ALL SELECT CAST(TABLE_NAME AS CHAR), CAST(PRIVILEGE_TYPE AS CHAR) FROM information_schema.TABLE_PRIVILEGES \
               WHERE GRANTEE IN ({list}) AND TABLE_SCHEMA = DATABASE()"
        ),
    )
    .await?;
    let has = |table: &str, privilege: &str| {
        rows.iter().any(|(t, p)| {
            (t == "*" || t == table)
                && (p.eq_ignore_ascii_case(privilege) || p.eq_ignore_ascii_case("ALL PRIVILEGES"))
        })
    };
    let mut missing = Vec::new();
    // New tables (history, marker, votebox's own) and their rows.
    for p in ["CREATE", "SELECT", "INSERT", "UPDATE", "DELETE"] {
        if !has("*", p) {
            missing.push(format!("{p} on the database"));
        }
    }
    for step in &plan.steps {
        let table = match step.id {
            "voter-columns" => "voter",
            "ballot-columns" | "ballot-ids" => "ballot",
            _ => continue,
        };
        for p in ["ALTER", "UPDATE"] {
            if step.id == "ballot-ids" && p == "ALTER" {
                continue;
            }
            if !has(table, p) {
                let m = format!("{p} on {table}");
                if !missing.contains(&m) {
                    missing.push(m);
                }
            }
        }
    }
    Ok(missing)
}

/// `user@host` (CURRENT_USER) → `'user'@'host'` (information_schema's GRANTEE).
pub(super) fn grantee(user_at_host: &str) -> String {
    match user_at_host.rsplit_once('@') {
        Some((u, h)) => format!("'{u}'@'{h}'"),
        None => format!("'{user_at_host}'"),
    }
}

pub(super) fn is_permission_error(e: &DbError) -> bool {
    let DbError::Sqlx(sqlx::Error::Database(d)) = e else {
        return false;
    };
    if d.code().as_deref() == Some("42501") {
        return true; // PostgreSQL insufficient_privilege
    }
    if let Some(my) = d.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        // ER_DBACCESS_DENIED, ER_TABLEACCESS_DENIED, ER_COLUMNACCESS_DENIED,
        // ER_SPECIFIC_ACCESS_DENIED, ER_ACCESS_DENIED (no such user) …
        return matches!(my.number(), 1044 | 1045 | 1142 | 1143 | 1227);
    }
    // SQLITE_READONLY, SQLITE_PERM, SQLITE_AUTH
    matches!(
        d.code()
            .and_then(|c| c.parse::<i32>().ok())
            .map(|c| c & 0xff),
        Some(8 | 3 | 23)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grantee_format() {
        assert_eq!(grantee("vote@%"), "'vote'@'%'");
        assert_eq!(grantee("root@127.0.0.1"), "'root'@'127.0.0.1'");
    }
}
