//! The container image, checked without a container engine (issue 7, item 1): the Dockerfile's
//! invariants, `.dockerignore`, and `scripts/entrypoint-local.sh` (the same start-up sequence,
//! run for real against the test binary).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::harness::MetaFixture;

const BIN: &str = env!("CARGO_BIN_EXE_votebox");

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One instruction: keyword (upper case) and its argument text (continuations joined).
#[derive(Debug, Clone)]
struct Instr {
    keyword: String,
    args: String,
}

fn parse_dockerfile(text: &str) -> Vec<Instr> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if trimmed.starts_with('#') {
            continue; // a comment inside a continued instruction
        }
        if let Some(body) = trimmed.strip_suffix('\\') {
            current.push_str(body);
            current.push(' ');
            continue;
        }
        current.push_str(trimmed);
        let (keyword, args) = current
            .split_once(char::is_whitespace)
            .unwrap_or((current.as_str(), ""));
        out.push(Instr {
            keyword: keyword.to_ascii_uppercase(),
            args: args.trim().to_owned(),
        });
        current.clear();
    }
    assert!(current.is_empty(), "Dockerfile ends inside a continuation");
    out
}

/// Instructions grouped by build stage (everything before the first FROM is stage "global").
struct Stages {
    global: Vec<Instr>,
    stages: Vec<(String, Option<String>, Vec<Instr>)>, // (image, alias, instructions)
}

fn stages(instrs: &[Instr]) -> Stages {
    let mut global = Vec::new();
    let mut args: HashMap<String, String> = HashMap::new();
    let mut stages: Vec<(String, Option<String>, Vec<Instr>)> = Vec::new();
    for i in instrs {
        match i.keyword.as_str() {
            "ARG" if stages.is_empty() => {
                if let Some((k, v)) = i.args.split_once('=') {
                    args.insert(k.trim().to_owned(), v.trim().to_owned());
                }
                global.push(i.clone());
            }
            "FROM" => {
                let words: Vec<&str> = i.args.split_whitespace().collect();
                let image_words: Vec<&&str> =
                    words.iter().filter(|w| !w.starts_with("--")).collect();
                let mut image = image_words[0].to_string();
                for (k, v) in &args {
                    image = image.replace(&format!("${{{k}}}"), v);
                    image = image.replace(&format!("${k}"), v);
                }
                let alias = image_words
                    .iter()
                    .position(|w| w.eq_ignore_ascii_case("as"))
                    .map(|p| image_words[p + 1].to_string());
                stages.push((image, alias, Vec::new()));
            }
            _ => match stages.last_mut() {
                Some((_, _, body)) => body.push(i.clone()),
                None => global.push(i.clone()),
            },
        }
    }
    Stages { global, stages }
}

fn dockerfile() -> Stages {
    let text = std::fs::read_to_string(repo_root().join("Dockerfile")).expect("read Dockerfile");
    stages(&parse_dockerfile(&text))
}

/// `["a", "b"]` (exec form) → its strings; panics on the shell form.
fn exec_form(args: &str) -> Vec<String> {
    serde_json::from_str(args).unwrap_or_else(|e| panic!("not the JSON exec form ({e}): {args}"))
}

fn workspace_rust_version() -> (u32, u32) {
    let toml = std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap();
    let line = toml
        .lines()
        .find(|l| l.trim_start().starts_with("rust-version"))
        .expect("rust-version in Cargo.toml");
    let v = line.split('"').nth(1).unwrap();
    let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap());
    (parts.next().unwrap(), parts.next().unwrap())
}

#[test]
fn base_images_are_pinned_and_multi_stage() {
    let d = dockerfile();
    assert!(d.stages.len() >= 2, "multi-stage build expected");
    for (image, _, _) in &d.stages {
        assert!(!image.contains('$'), "unresolved ARG in FROM {image}");
        let (name, tag) = image
            .split('@')
            .next()
            .unwrap()
            .rsplit_once(':')
            .unwrap_or_else(|| panic!("FROM {image} has no tag"));
        assert!(!name.is_empty());
        assert_ne!(tag, "latest", "FROM {image}: pin a version, not latest");
        if let Some(digest) = image.split('@').nth(1) {
            assert!(
                digest.starts_with("sha256:") && digest.len() == 71,
                "bad digest in {image}"
            );
        }
    }
    // Builder: the pinned Rust toolchain, at least the workspace's rust-version, on bookworm.
    let (builder, alias, _) = &d.stages[0];
    assert_eq!(alias.as_deref(), Some("builder"));
    let tag = builder.split('@').next().unwrap();
    let version = tag
        .strip_prefix("rust:")
        .and_then(|t| t.strip_suffix("-slim-bookworm"))
        .unwrap_or_else(|| panic!("builder must be rust:<x.y>-slim-bookworm, not {builder}"));
    let mut v = version
        .split('.')
        .map(|p| p.parse::<u32>().expect("numeric"));
    let (major, minor) = (v.next().unwrap(), v.next().expect("x.y version"));
    assert!(
        (major, minor) >= workspace_rust_version(),
        "builder {builder} is older than rust-version"
    );
    // Runtime: Debian slim of the same release as the builder (glibc match).
    let (runtime, _, body) = d.stages.last().unwrap();
    assert!(
        runtime.starts_with("debian:bookworm-slim"),
        "runtime base: {runtime}"
    );
    let copies: Vec<&Instr> = body
        .iter()
        .filter(|i| i.keyword == "COPY" && i.args.contains("--from=builder"))
        .collect();
    assert_eq!(copies.len(), 1, "the runtime copies only the binary");
    assert!(copies[0].args.contains("/usr/local/bin/votebox"));
    // Reproducible dependency set.
    let build = &d.stages[0].2;
    assert!(
        build
            .iter()
            .any(|i| i.keyword == "RUN" && i.args.contains("cargo build --release --locked")),
        "the builder must use Cargo.lock (--locked)"
    );
    let _ = &d.global;
}

#[test]
fn runtime_has_required_packages_and_runs_as_non_root() {
    let d = dockerfile();
    let (_, _, body) = d.stages.last().unwrap();
    let installs: String = body
        .iter()
        .filter(|i| i.keyword == "RUN" && i.args.contains("apt-get install"))
        .map(|i| i.args.clone())
        .collect::<Vec<_>>()
        .join(" ");
    let words: Vec<&str> = installs.split_whitespace().collect();
    for pkg in ["git", "openssh-client", "ca-certificates", "tini"] {
        assert!(words.contains(&pkg), "runtime lacks {pkg}: {installs}");
    }
    assert!(
        installs.contains("--no-install-recommends")
            && installs.contains("rm -rf /var/lib/apt/lists"),
        "keep the runtime slim: {installs}"
    );

    let user = body
        .iter()
        .rev()
        .find(|i| i.keyword == "USER")
        .expect("a USER instruction in the runtime stage");
    let uid = user.args.split(':').next().unwrap();
    assert!(
        uid.chars().all(|c| c.is_ascii_digit()),
        "numeric USER (so runAsNonRoot can verify it): {}",
        user.args
    );
    assert_ne!(uid, "0", "must not run as root");
    assert_eq!(
        uid, "10017",
        "Elekto's UID, so existing volumes keep working"
    );
    // USER comes after every RUN (nothing runs as root afterwards that the user needs).
    let user_pos = body.iter().rposition(|i| i.keyword == "USER").unwrap();
    assert!(
        body.iter().skip(user_pos).all(|i| i.keyword != "RUN"),
        "RUN after USER"
    );
}

#[test]
fn data_volume_env_port_and_entrypoint() {
    let d = dockerfile();
    let (_, _, body) = d.stages.last().unwrap();
    let volume = body
        .iter()
        .find(|i| i.keyword == "VOLUME")
        .expect("a VOLUME");
    assert!(volume.args.contains("/data"), "{}", volume.args);

    let mut env: HashMap<String, String> = HashMap::new();
    for i in body.iter().filter(|i| i.keyword == "ENV") {
        for pair in i.args.split_whitespace() {
            if let Some((k, v)) = pair.split_once('=') {
                env.insert(k.to_owned(), v.to_owned());
            }
        }
    }
    for var in ["VOTEBOX_DATA_DIR", "DB_PATH", "META_PATH"] {
        let v = env.get(var).unwrap_or_else(|| panic!("ENV {var} missing"));
        assert!(v.starts_with("/data"), "{var}={v} is not on the volume");
    }
    let port = env.get("APP_PORT").expect("ENV APP_PORT");
    let expose = body.iter().find(|i| i.keyword == "EXPOSE").expect("EXPOSE");
    assert_eq!(expose.args.split('/').next().unwrap(), port);
    assert_eq!(port, "8080", "Elekto's sample Deployment port");

    let entrypoint = exec_form(
        &body
            .iter()
            .rev()
            .find(|i| i.keyword == "ENTRYPOINT")
            .expect("ENTRYPOINT")
            .args,
    );
    assert_eq!(entrypoint, ["/usr/bin/tini", "--", "votebox"]);
    let cmd = exec_form(
        &body
            .iter()
            .rev()
            .find(|i| i.keyword == "CMD")
            .expect("CMD")
            .args,
    );
    assert_eq!(cmd.len(), 1, "{cmd:?}");

    // The CMD is a subcommand of this very binary.
    let help = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let listed = help
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .any(|w| w == cmd[0]);
    assert!(
        listed,
        "`votebox --help` does not list `{}`:\n{help}",
        cmd[0]
    );
    let sub = Command::new(BIN)
        .args([&cmd[0], "--help"])
        .output()
        .unwrap();
    assert!(sub.status.success(), "votebox {} --help failed", cmd[0]);
    let sub_help = String::from_utf8_lossy(&sub.stdout);
    assert!(
        sub_help.contains("migrate") && sub_help.contains("sync") && sub_help.contains("serve"),
        "`{}` must migrate, sync and serve:\n{sub_help}",
        cmd[0]
    );
}

#[test]
fn dockerignore_keeps_the_context_small_but_complete() {
    let text = std::fs::read_to_string(repo_root().join(".dockerignore")).expect(".dockerignore");
    let rules: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for must in ["target/", ".git/", ".env"] {
        assert!(rules.contains(&must), ".dockerignore lacks {must}");
    }
    for needed in ["Cargo.lock", "Cargo.toml", "crates", "crates/"] {
        assert!(
            !rules.contains(&needed),
            ".dockerignore excludes {needed}, which the build needs"
        );
    }
}

// ----- scripts/entrypoint-local.sh ---------------------------------------------------------------

#[test]
fn entrypoint_local_script_migrates_syncs_serves_and_stops_cleanly() {
    let script = repo_root().join("scripts/entrypoint-local.sh");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&script).unwrap().permissions().mode();
        assert!(
            mode & 0o111 != 0,
            "scripts/entrypoint-local.sh is not executable"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let meta = MetaFixture::create(&[]);
    let data = dir.path().join("data");
    let mut child = Command::new("bash")
        .arg(&script)
        .args(["--port", "0"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env("VOTEBOX_BIN", BIN)
        .env("VOTEBOX_DATA_DIR", &data)
        .env("DB_CONNECTION", "sqlite")
        .env("META_REPO", meta.remote_url())
        .env("ELECTION_DIR", "elections")
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run scripts/entrypoint-local.sh");
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut err = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let mut seen = Vec::new();
    let mut addr = None;
    let deadline = Instant::now() + Duration::from_secs(120);
    while addr.is_none() && Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                if let Some(rest) = line.split("starting votebox on http://").nth(1) {
                    addr = Some(rest.trim_end_matches('/').to_owned());
                }
                seen.push(line);
            }
            Err(_) => {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!(
                        "script exited early ({status}):\n{}\n{}",
                        seen.join("\n"),
                        stderr.join().unwrap()
                    );
                }
            }
        }
    }
    let addr = addr.unwrap_or_else(|| {
        let _ = child.kill();
        panic!("no start line:\n{}", seen.join("\n"))
    });
    assert!(
        addr.starts_with("127.0.0.1:"),
        "binds loopback by default: {addr}"
    );
    let out = seen.join("\n");
    let migrated = out.find("database is up to date").expect(&out);
    let synced = out.find("syncing repo").expect(&out);
    let started = out.find("starting votebox on").expect(&out);
    assert!(migrated < started && synced < started, "{out}");
    let (status, _) = http_get(&addr, "/healthz/ready");
    assert_eq!(status, 200);
    // The image's defaults landed under the data dir.
    assert!(data.join("elekto.db").exists());
    assert!(data.join("meta").exists());

    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(30);
    let code = loop {
        if let Ok(Some(s)) = child.try_wait() {
            break s.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = stderr.join().unwrap();
    assert_eq!(code, Some(0), "exit on SIGTERM\n{stderr}");
}

/// `GET path` over HTTP/1.1; (status, raw response).
pub fn http_get(addr: &str, path: &str) -> (u16, String) {
    use std::io::Write as _;
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    let _ = s.read_to_string(&mut response);
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, response)
}
