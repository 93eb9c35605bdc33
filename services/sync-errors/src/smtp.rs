//! Sends notification e-mails over SMTP (lettre): one message per
//! notification to all of an org's recipients, multipart/alternative with
//! the plain text and the HTML that `mail.rs` composed. The notifier calls
//! it at most once per notification and channel until the server accepted
//! it (the store remembers which channels took it), so a retry after a
//! failure does not send again what went out.
//!
//! TLS (STARTTLS or implicit) verifies the server against the system's
//! roots, plus `--smtp-ca-file` when set.
//!
//! The password is read from a file at start and lives only in lettre's
//! credentials: never on the command line, never in a log or an error.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::mail::Mail;

/// How to reach the SMTP server, from the service's settings.
#[derive(Clone, Debug)]
pub struct MailerSettings {
    /// `smtp://host[:port]` (plain, port 25), `smtp://host[:port]?tls=required`
    /// (STARTTLS, port 587), `smtp://host[:port]?tls=opportunistic`, or
    /// `smtps://host[:port]` (implicit TLS, port 465). No credentials in it.
    pub url: String,
    /// The user to authenticate as; none: no AUTH.
    pub username: Option<String>,
    /// The file holding the password (a trailing newline is not part of it).
    pub password_file: Option<PathBuf>,
    /// The sender (`From`), `name <address>` or `address`.
    pub from: String,
    /// Longest an SMTP command may wait for the server.
    pub timeout: Duration,
    /// A CA certificate (PEM) trusted for the server's TLS besides the
    /// system's roots (an internal relay's).
    pub ca_file: Option<PathBuf>,
}

/// How the connection to the server is protected, as the URL says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protection {
    /// Plain SMTP.
    None,
    /// STARTTLS when the server offers it.
    Opportunistic,
    /// STARTTLS, or no mail.
    Required,
    /// TLS from the first byte (smtps://).
    Wrapper,
}

/// The host and the protection `url` names.
fn host_and_protection(url: &str) -> (String, Protection) {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let (authority, query) = match rest.split_once('?') {
        Some((a, q)) => (a, q),
        None => (rest, ""),
    };
    let authority = authority.split(['/', '#']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    let tls = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("tls="))
        .unwrap_or_default();
    let protection = match (scheme, tls) {
        ("smtps", _) => Protection::Wrapper,
        (_, "required") => Protection::Required,
        (_, "opportunistic") => Protection::Opportunistic,
        _ => Protection::None,
    };
    (host.to_owned(), protection)
}

/// Sends composed mails.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// What logs say the server is: the URL, which holds no secret.
    server: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("server", &self.server)
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

/// Whether `url` holds credentials (`user:password@host`): they belong in
/// --smtp-username and --smtp-password-file, where they are not shown.
fn has_userinfo(url: &str) -> bool {
    let authority = url.split_once("://").map_or("", |(_, rest)| rest);
    let authority = authority.split(['/', '?', '#']).next().unwrap_or_default();
    authority.contains('@')
}

impl Mailer {
    /// The mailer these settings describe; an error names the flag at
    /// fault (and never holds the password).
    pub fn new(settings: &MailerSettings) -> anyhow::Result<Self> {
        let url = settings.url.trim();
        if has_userinfo(url) {
            anyhow::bail!(
                "--smtp-url must not hold credentials: use --smtp-username and --smtp-password-file"
            );
        }
        let scheme_ok = url.starts_with("smtp://") || url.starts_with("smtps://");
        if !scheme_ok {
            anyhow::bail!(
                "--smtp-url must be smtp://host[:port][?tls=required|opportunistic] or smtps://host[:port]"
            );
        }
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| anyhow::anyhow!("--smtp-url {url}: {e}"))?
            .timeout(Some(settings.timeout));
        if let Some(ca) = &settings.ca_file {
            let (host, protection) = host_and_protection(url);
            let pem =
                std::fs::read(ca).with_context(|| format!("--smtp-ca-file {}", ca.display()))?;
            let certificate = Certificate::from_pem(&pem)
                .map_err(|e| anyhow::anyhow!("--smtp-ca-file {}: {e}", ca.display()))?;
            let parameters = TlsParameters::builder(host)
                .add_root_certificate(certificate)
                .build_rustls()
                .map_err(|e| anyhow::anyhow!("--smtp-ca-file {}: {e}", ca.display()))?;
            builder = builder.tls(match protection {
                Protection::None => anyhow::bail!(
                    "--smtp-ca-file needs TLS: an --smtp-url of smtps:// or with ?tls=required"
                ),
                Protection::Opportunistic => Tls::Opportunistic(parameters),
                Protection::Required => Tls::Required(parameters),
                Protection::Wrapper => Tls::Wrapper(parameters),
            });
        }
        match (&settings.username, &settings.password_file) {
            (Some(user), Some(file)) => {
                let password = std::fs::read_to_string(file)
                    .with_context(|| format!("--smtp-password-file {}", file.display()))?;
                let password = password.trim_end_matches(['\r', '\n']).to_owned();
                if password.is_empty() {
                    anyhow::bail!("--smtp-password-file {}: is empty", file.display());
                }
                builder = builder.credentials(Credentials::new(user.clone(), password));
            }
            (None, None) => {}
            (Some(_), None) => anyhow::bail!("--smtp-username needs --smtp-password-file"),
            (None, Some(_)) => anyhow::bail!("--smtp-password-file needs --smtp-username"),
        }
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|e| anyhow::anyhow!("--smtp-from {:?}: {e}", settings.from))?;
        Ok(Self {
            transport: builder.build(),
            from,
            server: url.to_owned(),
        })
    }

    /// The server, as logs name it.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Sends `mail` to `recipients` as notification `id` (its Message-ID,
    /// the same on every try, so that mail clients fold a repeat). `Err`
    /// says why not, for logs, metrics and the delivery status: never a
    /// credential.
    pub async fn send(
        &self,
        id: &str,
        recipients: &[String],
        mail: &Mail,
    ) -> Result<(), MailFailure> {
        let mut message = Message::builder()
            .from(self.from.clone())
            .subject(mail.subject.clone())
            .message_id(Some(message_id(id, &self.from)));
        let mut any = false;
        for to in recipients {
            // Checked when stored; one that no longer parses is skipped,
            // not sent to some other reading of it.
            if let Ok(address) = to.parse::<lettre::Address>() {
                message = message.to(Mailbox::new(None, address));
                any = true;
            }
        }
        if !any {
            return Err(MailFailure {
                reason: "recipient",
                detail: "no valid recipient".into(),
            });
        }
        let message = message
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(mail.text.clone()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(mail.html.clone()),
                    ),
            )
            .map_err(|e| MailFailure {
                reason: "message",
                detail: format!("cannot build the message: {e}"),
            })?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| MailFailure {
                reason: failure_reason(
                    e.status().map(u16::from),
                    e.is_timeout(),
                    e.is_tls(),
                    e.is_response() || e.is_client(),
                ),
                detail: format!("SMTP: {e}"),
            })
    }
}

/// Every reason an e-mail is not sent, as [`MailFailure::reason`] gives it:
/// the server cannot be reached, does not answer in time, fails TLS,
/// refuses the credentials, refuses a recipient, refuses for now (4xx) or
/// for good (any other 5xx), answers what the client cannot follow; or the
/// message cannot be made.
pub const MAIL_FAILURES: [&str; 9] = [
    "connect",
    "timeout",
    "tls",
    "auth",
    "recipient",
    "transient",
    "refused",
    "protocol",
    "message",
];

/// Why an e-mail was not sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailFailure {
    /// One of [`MAIL_FAILURES`], for the metrics.
    pub reason: &'static str,
    /// What happened, for logs and the delivery status (no credential).
    pub detail: String,
}

impl std::fmt::Display for MailFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

/// The reason of an SMTP failure: by the reply code when the server gave
/// one (535 and 530 refuse the credentials, 550 to 553 a mailbox, any 4xx
/// is for now), else by what failed below SMTP. A time-out is checked
/// first: it may come with any of the others.
fn failure_reason(code: Option<u16>, timeout: bool, tls: bool, protocol: bool) -> &'static str {
    match code {
        _ if timeout => "timeout",
        Some(530 | 534 | 535 | 538) => "auth",
        Some(550..=553) => "recipient",
        Some(400..=499) => "transient",
        Some(_) => "refused",
        None if tls => "tls",
        None if protocol => "protocol",
        None => "connect",
    }
}

/// `<id@domain of the sender>`, the id cut to the characters a Message-ID
/// may hold.
fn message_id(id: &str, from: &Mailbox) -> String {
    let local: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        .take(200)
        .collect();
    format!("<{local}.syncgov@{}>", from.email.domain())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str) -> MailerSettings {
        MailerSettings {
            url: url.into(),
            username: None,
            password_file: None,
            from: "syncgov <alerts@example.com>".into(),
            timeout: Duration::from_secs(5),
            ca_file: None,
        }
    }

    #[test]
    fn urls_are_smtp_or_smtps_without_credentials() {
        assert!(Mailer::new(&settings("smtp://127.0.0.1:2525")).is_ok());
        assert!(Mailer::new(&settings("smtp://mail.example.com:587?tls=required")).is_ok());
        assert!(Mailer::new(&settings("smtps://mail.example.com")).is_ok());
        let err = Mailer::new(&settings("smtp://u:secret@mail.example.com"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--smtp-url") && !err.contains("secret"),
            "{err}"
        );
        let err = Mailer::new(&settings("http://mail.example.com")).unwrap_err();
        assert!(err.to_string().contains("--smtp-url"), "{err}");
        let err = Mailer::new(&MailerSettings {
            from: "not an address".into(),
            ..settings("smtp://127.0.0.1")
        })
        .unwrap_err();
        assert!(err.to_string().contains("--smtp-from"), "{err}");
        let err = Mailer::new(&MailerSettings {
            username: Some("u".into()),
            ..settings("smtp://127.0.0.1")
        })
        .unwrap_err();
        assert!(err.to_string().contains("--smtp-password-file"), "{err}");
    }

    #[test]
    fn the_url_says_the_host_and_the_protection() {
        let of = |u: &str| host_and_protection(u);
        assert_eq!(
            of("smtp://mail.example.com"),
            ("mail.example.com".into(), Protection::None)
        );
        assert_eq!(
            of("smtp://mail.example.com:587?tls=required"),
            ("mail.example.com".into(), Protection::Required)
        );
        assert_eq!(
            of("smtp://[::1]:25/?tls=opportunistic"),
            ("::1".into(), Protection::Opportunistic)
        );
        assert_eq!(
            of("smtps://localhost:465"),
            ("localhost".into(), Protection::Wrapper)
        );
    }

    #[test]
    fn failures_have_a_reason_from_the_reply_code_or_what_failed_below() {
        assert_eq!(failure_reason(Some(535), false, false, false), "auth");
        assert_eq!(failure_reason(Some(530), false, false, false), "auth");
        assert_eq!(failure_reason(Some(550), false, false, false), "recipient");
        assert_eq!(failure_reason(Some(553), false, false, false), "recipient");
        assert_eq!(failure_reason(Some(451), false, false, false), "transient");
        assert_eq!(failure_reason(Some(554), false, false, false), "refused");
        assert_eq!(failure_reason(None, true, false, false), "timeout");
        assert_eq!(failure_reason(Some(421), true, false, false), "timeout");
        assert_eq!(failure_reason(None, false, true, false), "tls");
        assert_eq!(failure_reason(None, false, false, true), "protocol");
        assert_eq!(failure_reason(None, false, false, false), "connect");
        let mut seen: Vec<&str> = [
            (Some(535), false, false, false),
            (Some(550), false, false, false),
            (Some(451), false, false, false),
            (Some(554), false, false, false),
            (None, true, false, false),
            (None, false, true, false),
            (None, false, false, true),
            (None, false, false, false),
        ]
        .into_iter()
        .map(|(c, t, s, p)| failure_reason(c, t, s, p))
        .chain(["message"])
        .collect();
        let mut known = MAIL_FAILURES.to_vec();
        seen.sort_unstable();
        known.sort_unstable();
        assert_eq!(seen, known, "every reason has its series from zero");
    }

    #[test]
    fn message_ids_keep_only_safe_characters() {
        let from: Mailbox = "a@example.com".parse().unwrap();
        assert_eq!(
            message_id("suspension-12\r\n<x>", &from),
            "<suspension-12x.syncgov@example.com>"
        );
    }
}
