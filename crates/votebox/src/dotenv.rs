//! `.env` loading with Elekto's precedence (reference §1.1, checklist 3).
//!
//! * The file is `.env` in the current directory (`/app` in Elekto's container, where votebox's
//!   image also runs), or `.env.testing` when `TESTING` is set non-empty or `PYTEST_VERSION` is set.
//!   A missing file is ignored.
//! * Values in the file **override** the process environment (python-dotenv `override=True`,
//!   dotenvy `from_path_override`). `KEY=` therefore blanks a real variable, and the empty value
//!   then means "unset" (so the default applies).
//! * SHOULD-FIX: every variable the file overrides is reported by name (never by value), with a
//!   louder note when the file's value is empty; Elekto overrides silently.
//! * A line that cannot be parsed is skipped with a warning, as python-dotenv does.

use std::path::{Path, PathBuf};

use crate::config::Env;

/// The dotenv file Elekto would read in `dir`, given the process environment.
pub fn dotenv_path(dir: &Path, env: &Env) -> PathBuf {
    let testing =
        env.get("TESTING").is_some_and(|v| !v.is_empty()) || env.contains_key("PYTEST_VERSION");
    dir.join(if testing { ".env.testing" } else { ".env" })
}

/// The entries of a dotenv file, in file order, and the problems met while reading it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DotenvFile {
    pub path: PathBuf,
    pub entries: Vec<(String, String)>,
    pub problems: Vec<String>,
}

/// Reads `path`; `Ok(None)` when it does not exist. `${VAR}` references are expanded by dotenvy
/// from the process environment and earlier lines.
pub fn read(path: &Path) -> std::io::Result<Option<DotenvFile>> {
    let iter = match dotenvy::from_path_iter(path) {
        Ok(iter) => iter,
        Err(dotenvy::Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(dotenvy::Error::Io(e)) => return Err(e),
        Err(e) => return Err(std::io::Error::other(e.to_string())),
    };
    let mut file = DotenvFile {
        path: path.to_owned(),
        ..DotenvFile::default()
    };
    for item in iter {
        match item {
            Ok(pair) => file.entries.push(pair),
            Err(dotenvy::Error::Io(e)) => return Err(e),
            // The message would quote the line, which may hold a secret: say where, not what.
            Err(_) => file.problems.push(match file.entries.last() {
                Some((k, _)) => format!("a line after {k} could not be parsed and was skipped"),
                None => "a line before the first variable could not be parsed and was skipped"
                    .to_owned(),
            }),
        }
    }
    Ok(Some(file))
}

/// One variable that the dotenv file changed in the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub key: String,
    /// The file's value is empty: it blanks the real variable and the default applies.
    pub blanked: bool,
}

/// Applies `entries` over `env` (the file wins, later lines win) and reports the variables that
/// had a different value in `env` before.
pub fn overlay(env: &mut Env, entries: &[(String, String)]) -> Vec<Override> {
    // The process environment's values, before the file touches them.
    let mut original: Vec<(&str, Option<String>)> = Vec::new();
    for (key, _) in entries {
        if !original.iter().any(|(k, _)| k == key) {
            original.push((key, env.get(key).cloned()));
        }
    }
    for (key, value) in entries {
        env.insert(key.clone(), value.clone());
    }
    original
        .into_iter()
        .filter_map(|(key, before)| {
            let now = env.get(key)?;
            (before.as_ref().is_some_and(|b| b != now)).then(|| Override {
                key: key.to_owned(),
                blanked: now.is_empty(),
            })
        })
        .collect()
}

/// What loading the dotenv file did, to be logged once logging is set up.
#[derive(Debug, Default, Clone)]
pub struct DotenvReport {
    /// The file that was read, if it exists.
    pub loaded: Option<PathBuf>,
    pub overrides: Vec<Override>,
    pub problems: Vec<String>,
}

impl DotenvReport {
    /// Human-readable warnings, naming variables but never values.
    pub fn warnings(&self) -> Vec<String> {
        let Some(path) = &self.loaded else {
            return Vec::new();
        };
        let file = path.display();
        let mut out: Vec<String> = self
            .problems
            .iter()
            .map(|p| format!("{file}: {p}"))
            .collect();
        for o in &self.overrides {
            out.push(if o.blanked {
                format!(
                    "{file} sets {} to an EMPTY value, overriding the environment: the default applies instead of the value you set (Elekto does the same, silently)",
                    o.key
                )
            } else {
                format!("{file} overrides {} from the environment", o.key)
            });
        }
        out
    }
}

/// Reads the dotenv file for the current directory and overlays it on `env`. Pure apart from
/// reading the file: the caller decides whether to export the result to the process.
pub fn load(dir: &Path, env: &mut Env) -> std::io::Result<DotenvReport> {
    let path = dotenv_path(dir, env);
    let Some(file) = read(&path)? else {
        return Ok(DotenvReport::default());
    };
    let overrides = overlay(env, &file.entries);
    Ok(DotenvReport {
        loaded: Some(file.path),
        overrides,
        problems: file.problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn entries(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn checklist_3_file_values_override_the_environment() {
        let mut e = env(&[("APP_NAME", "from-env"), ("APP_PORT", "8080")]);
        let o = overlay(
            &mut e,
            &entries(&[("APP_NAME", "from-file"), ("META_PATH", "/tmp/meta")]),
        );
        assert_eq!(e["APP_NAME"], "from-file");
        assert_eq!(e["APP_PORT"], "8080");
        assert_eq!(e["META_PATH"], "/tmp/meta");
        assert_eq!(
            o,
            vec![Override {
                key: "APP_NAME".into(),
                blanked: false
            }]
        );
    }

    #[test]
    fn checklist_3_empty_file_value_blanks_and_is_reported_loudly() {
        let mut e = env(&[("APP_KEY", "real-secret"), ("DB_PASSWORD", "pw")]);
        let o = overlay(&mut e, &entries(&[("APP_KEY", ""), ("DB_PASSWORD", "pw")]));
        assert_eq!(e["APP_KEY"], "");
        assert_eq!(
            o,
            vec![Override {
                key: "APP_KEY".into(),
                blanked: true
            }]
        );
        let report = DotenvReport {
            loaded: Some(PathBuf::from(".env")),
            overrides: o,
            problems: vec![],
        };
        let w = report.warnings();
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("APP_KEY") && w[0].contains("EMPTY"), "{w:?}");
        assert!(!w[0].contains("real-secret"));
    }

    #[test]
    fn checklist_3_same_value_is_not_an_override_and_last_line_wins() {
        let mut e = env(&[("A", "1")]);
        let o = overlay(&mut e, &entries(&[("A", "1"), ("B", "x"), ("B", "y")]));
        assert!(o.is_empty());
        assert_eq!(e["B"], "y");
        let mut e = env(&[("A", "1")]);
        let o = overlay(&mut e, &entries(&[("A", ""), ("A", "2")]));
        assert_eq!(
            o,
            vec![Override {
                key: "A".into(),
                blanked: false
            }]
        );
    }

    #[test]
    fn checklist_3_testing_selects_env_testing() {
        let d = Path::new("/app");
        assert_eq!(dotenv_path(d, &env(&[])), PathBuf::from("/app/.env"));
        assert_eq!(
            dotenv_path(d, &env(&[("TESTING", "")])),
            PathBuf::from("/app/.env")
        );
        assert_eq!(
            dotenv_path(d, &env(&[("TESTING", "1")])),
            PathBuf::from("/app/.env.testing")
        );
        assert_eq!(
            dotenv_path(d, &env(&[("PYTEST_VERSION", "")])),
            PathBuf::from("/app/.env.testing")
        );
    }

    #[test]
    fn checklist_3_load_reads_python_dotenv_syntax_and_skips_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".env"),
            "# comment\nexport APP_NAME=\"quoted name\"\nAPP_KEY='single'\nMETA_BRANCH=dev # trailing\nthis is not valid\nDB_PASSWORD=\n",
        )
        .unwrap();
        let mut e = env(&[("DB_PASSWORD", "secret")]);
        let report = load(dir.path(), &mut e).unwrap();
        assert_eq!(report.loaded, Some(dir.path().join(".env")));
        assert_eq!(e["APP_NAME"], "quoted name");
        assert_eq!(e["APP_KEY"], "single");
        assert_eq!(e["META_BRANCH"], "dev");
        assert_eq!(e["DB_PASSWORD"], "");
        assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
        assert!(report.problems[0].contains("META_BRANCH"));
        assert!(
            report
                .overrides
                .iter()
                .any(|o| o.key == "DB_PASSWORD" && o.blanked)
        );
    }

    #[test]
    fn checklist_3_missing_file_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let mut e = env(&[("A", "1")]);
        let report = load(dir.path(), &mut e).unwrap();
        assert!(report.loaded.is_none());
        assert!(report.warnings().is_empty());
        assert_eq!(e, env(&[("A", "1")]));
    }
}
