//! The session key (`APP_KEY`): generation (`votebox generate-key`, like `console --generate`) and
//! checklist 6: when `APP_KEY` is unset, empty, `test` or `N/A`, votebox does **not** sign
//! sessions with a public constant as Elekto does. It generates a random key once and keeps it in
//! `<data dir>/app_key`, so sessions survive restarts; if that file cannot be written it uses a
//! per-process random key and logs a loud warning.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::{APP_KEY_FILE, AppKey};

/// 32 random bytes as 64 lowercase hex characters (`console --generate`'s format).
pub fn generate_key() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// Where the key in use came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `APP_KEY` from the environment.
    Env,
    /// Read from (or just written to) this file.
    File { path: PathBuf, created: bool },
    /// Random, for this process only (the file could not be written).
    Ephemeral { reason: String },
}

#[derive(Debug, Clone)]
pub struct ResolvedKey {
    pub key: String,
    pub source: KeySource,
}

impl ResolvedKey {
    /// The warning to log about this key, if any.
    pub fn warning(&self, configured: &AppKey) -> Option<String> {
        let what = match configured {
            AppKey::Set(_) => return None,
            AppKey::Weak(None) => "APP_KEY is not set".to_owned(),
            AppKey::Weak(Some(p)) => format!("APP_KEY is the placeholder {p:?}"),
        };
        Some(match &self.source {
            KeySource::Env => return None,
            KeySource::File {
                path,
                created: true,
            } => format!(
                "{what}: generated a random session key and stored it in {} (Elekto would sign sessions with the public value 'test'); set APP_KEY (votebox generate-key) to choose your own",
                path.display()
            ),
            KeySource::File {
                path,
                created: false,
            } => format!("{what}: using the session key stored in {}", path.display()),
            KeySource::Ephemeral { reason } => format!(
                "{what} and no key could be stored ({reason}): using a random key for this process only. \
                 EVERY RESTART WILL LOG ALL USERS OUT and replicas will not share sessions. \
                 Set APP_KEY (generate one with `votebox generate-key`) or make the data directory writable"
            ),
        })
    }
}

/// The key to sign sessions with (checklist 6).
pub fn resolve_app_key(configured: &AppKey, data_dir: &Path) -> ResolvedKey {
    if let AppKey::Set(k) = configured {
        return ResolvedKey {
            key: k.clone(),
            source: KeySource::Env,
        };
    }
    let path = data_dir.join(APP_KEY_FILE);
    match read_or_create(&path) {
        Ok((key, created)) => ResolvedKey {
            key,
            source: KeySource::File { path, created },
        },
        Err(e) => ResolvedKey {
            key: generate_key(),
            source: KeySource::Ephemeral {
                reason: format!("{}: {e}", path.display()),
            },
        },
    }
}

fn read_or_create(path: &Path) -> std::io::Result<(String, bool)> {
    if let Ok(existing) = fs::read_to_string(path) {
        let key = existing.trim();
        if !key.is_empty() {
            return Ok((key.to_owned(), false));
        }
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    let key = generate_key();
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(format!("{key}\n").as_bytes())?;
    file.sync_all()?;
    Ok((key, true))
}

/// Writes `APP_KEY='<key>'` into a dotenv file, replacing an existing `APP_KEY` line (as
/// python-dotenv's `set_key` does for `console --generate`) or appending one.
pub fn write_key_to_dotenv(path: &Path, key: &str) -> std::io::Result<()> {
    let line = format!("APP_KEY='{key}'");
    let existing = match fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let mut replaced = false;
    let mut out: Vec<String> = existing
        .lines()
        .map(|l| {
            let t = l.trim_start();
            let t = t.strip_prefix("export ").map(str::trim_start).unwrap_or(t);
            let is_key = t
                .strip_prefix("APP_KEY")
                .is_some_and(|rest| rest.trim_start().starts_with('='));
            if is_key && !replaced {
                replaced = true;
                line.clone()
            } else {
                l.to_owned()
            }
        })
        .collect();
    if !replaced {
        out.push(line);
    }
    let mut text = out.join("\n");
    text.push('\n');
    fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checklist_6_generated_key_is_64_lowercase_hex() {
        let k = generate_key();
        assert_eq!(k.len(), 64);
        assert!(k.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
        assert_ne!(k, generate_key());
    }

    #[test]
    fn checklist_6_configured_key_is_used_as_is() {
        let dir = tempfile::tempdir().unwrap();
        let configured = AppKey::Set("my-secret".into());
        let r = resolve_app_key(&configured, dir.path());
        assert_eq!(r.key, "my-secret");
        assert_eq!(r.source, KeySource::Env);
        assert!(r.warning(&configured).is_none());
        assert!(!dir.path().join(APP_KEY_FILE).exists());
    }

    #[test]
    fn checklist_6_weak_key_is_generated_persisted_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        for weak in [
            AppKey::Weak(None),
            AppKey::Weak(Some("test".into())),
            AppKey::Weak(Some("N/A".into())),
        ] {
            let _ = fs::remove_dir_all(&data);
            let first = resolve_app_key(&weak, &data);
            assert_eq!(first.key.len(), 64);
            assert!(matches!(
                first.source,
                KeySource::File { created: true, .. }
            ));
            assert!(first.warning(&weak).unwrap().contains("generated"));
            let second = resolve_app_key(&weak, &data);
            assert_eq!(second.key, first.key, "the key must survive a restart");
            assert!(matches!(
                second.source,
                KeySource::File { created: false, .. }
            ));
            assert_ne!(first.key, "test");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(data.join(APP_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "key file must not be group/world readable");
        }
    }

    #[test]
    fn checklist_6_unwritable_data_dir_gives_random_key_and_loud_warning() {
        let dir = tempfile::tempdir().unwrap();
        // A regular file where the data directory should be: cannot be created.
        let blocker = dir.path().join("not-a-dir");
        fs::write(&blocker, "x").unwrap();
        let weak = AppKey::Weak(Some("test".into()));
        let r = resolve_app_key(&weak, &blocker.join("data"));
        assert_eq!(r.key.len(), 64);
        assert!(matches!(r.source, KeySource::Ephemeral { .. }));
        let w = r.warning(&weak).unwrap();
        assert!(w.contains("LOG ALL USERS OUT"), "{w}");
        assert!(w.contains("\"test\""), "{w}");
    }

    #[test]
    fn checklist_6_write_key_to_dotenv_replaces_or_appends() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(".env");
        write_key_to_dotenv(&p, "abc").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "APP_KEY='abc'\n");
        fs::write(&p, "APP_NAME=x\nAPP_KEY=\n# APP_KEY=old\nAPP_KEYS=keep\n").unwrap();
        write_key_to_dotenv(&p, "def").unwrap();
        assert_eq!(
            fs::read_to_string(&p).unwrap(),
            "APP_NAME=x\nAPP_KEY='def'\n# APP_KEY=old\nAPP_KEYS=keep\n"
        );
    }
}
