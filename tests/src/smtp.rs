//! A real SMTP server on loopback for the e-mail tests: `smtp_sink.py` on
//! Debian's aiosmtpd (scripts/test installs it), which saves every message
//! it takes as a JSON file the tests read back (envelope, headers, the
//! plain-text and HTML parts as decoded, the raw message). Killed on drop.

use std::io::BufRead;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use crate::TempDir;

/// The Python that has Debian's `python3-aiosmtpd`: the system one, not
/// whatever a version manager puts first on the PATH.
fn python() -> &'static str {
    if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

/// An SMTP server and the messages it took.
pub struct SmtpSink {
    child: Child,
    addr: SocketAddr,
    dir: TempDir,
}

impl SmtpSink {
    /// A server that takes every message, no AUTH.
    pub fn start() -> Self {
        Self::spawn(None, None, false)
    }

    /// A server that refuses every recipient (550 at RCPT), so it takes
    /// no message.
    pub fn start_refusing_recipients() -> Self {
        Self::spawn(None, None, true)
    }

    /// A server that takes every message, on `addr` (a loopback address
    /// nothing listened on: a mail server coming back).
    pub fn start_on(addr: SocketAddr) -> Self {
        Self::spawn_on(None, None, false, addr.port())
    }

    /// A server that speaks TLS with `cert` and `key` (PEM files):
    /// `starttls` (required before MAIL) or `implicit` (from the first
    /// byte).
    pub fn start_tls(mode: &str, cert: &std::path::Path, key: &std::path::Path) -> Self {
        Self::spawn(None, Some((mode, cert, key)), false)
    }

    /// A server that takes messages only after AUTH as `user` with
    /// `password`.
    pub fn start_with_auth(user: &str, password: &str) -> Self {
        Self::spawn(Some((user, password)), None, false)
    }

    fn spawn(
        auth: Option<(&str, &str)>,
        tls: Option<(&str, &std::path::Path, &std::path::Path)>,
        refuse_recipients: bool,
    ) -> Self {
        Self::spawn_on(auth, tls, refuse_recipients, 0)
    }

    fn spawn_on(
        auth: Option<(&str, &str)>,
        tls: Option<(&str, &std::path::Path, &std::path::Path)>,
        refuse_recipients: bool,
        port: u16,
    ) -> Self {
        let dir = TempDir::new("smtp");
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("smtp_sink.py");
        let mut command = Command::new(python());
        command
            .arg(script)
            .arg("--dir")
            .arg(dir.path().join("mail"));
        std::fs::create_dir_all(dir.path().join("mail")).expect("the mail directory");
        if let Some((user, password)) = auth {
            let file = dir.path().join("password");
            std::fs::write(&file, password).expect("write the password file");
            command
                .arg("--user")
                .arg(user)
                .arg("--password-file")
                .arg(file);
        }
        if refuse_recipients {
            command.arg("--refuse-recipients");
        }
        if port != 0 {
            command.arg("--port").arg(port.to_string());
        }
        if let Some((mode, cert, key)) = tls {
            command
                .arg("--tls")
                .arg(mode)
                .arg("--tls-cert")
                .arg(cert)
                .arg("--tls-key")
                .arg(key);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start smtp_sink.py (needs python3-aiosmtpd: scripts/test installs it)");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the sink's start-up line");
        let addr = line
            .split_whitespace()
            .find_map(|w| w.parse::<SocketAddr>().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}: is python3-aiosmtpd installed?"));
        Self { child, addr, dir }
    }

    /// The `--smtp-url` that reaches it.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every message it took so far, in the order it took them.
    pub fn messages(&self) -> Vec<serde_json::Value> {
        let mut names: Vec<_> = std::fs::read_dir(self.dir.path().join("mail"))
            .expect("the mail directory")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| {
                serde_json::from_slice(&std::fs::read(p).expect("read a message"))
                    .expect("a message as JSON")
            })
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
