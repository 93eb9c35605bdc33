//! The console's settings: flags with `SYNCGOV_CONSOLE_` environment
//! variables, every one with a default, so that it starts beside two local
//! services with no set-up.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use syncgov_kit::settings::parse_duration;
use syncgov_kit::tls::ClientTls;

/// Everything `syncgov-console` reads at start.
#[derive(Clone, Debug, clap::Parser)]
#[command(
    name = "syncgov-console",
    version,
    about = "The Sync Health web console",
    long_about = "The Sync Health web console: the API call use, suspensions and sync errors of \
        the orgs a person may see, over the quota governor's and the sync-error service's \
        gRPC APIs, with the signed-in person's own token. It never reaches Redis.\n\n\
        Every setting is also an environment variable (shown with each flag)."
)]
pub struct Settings {
    /// The HTTP(S) address to listen on.
    #[arg(long, env = "SYNCGOV_CONSOLE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// The quota governor's gRPC address (`host:port` or a URL).
    #[arg(
        long,
        env = "SYNCGOV_CONSOLE_GOVERNOR",
        default_value = "127.0.0.1:50051"
    )]
    pub governor: String,

    /// The sync-error service's gRPC address (`host:port` or a URL).
    #[arg(
        long,
        env = "SYNCGOV_CONSOLE_SYNC_ERRORS",
        default_value = "127.0.0.1:50052"
    )]
    pub sync_errors: String,

    /// The CA the services' certificates chain to (PEM); calls to them use
    /// TLS when set.
    #[arg(long, env = "SYNCGOV_CONSOLE_TLS_CA")]
    pub tls_ca: Option<PathBuf>,

    /// A client certificate (PEM) for services that require mutual TLS.
    #[arg(
        long,
        env = "SYNCGOV_CONSOLE_TLS_CLIENT_CERT",
        requires = "tls_client_key"
    )]
    pub tls_client_cert: Option<PathBuf>,

    /// The key of --tls-client-cert (PEM).
    #[arg(
        long,
        env = "SYNCGOV_CONSOLE_TLS_CLIENT_KEY",
        requires = "tls_client_cert"
    )]
    pub tls_client_key: Option<PathBuf>,

    /// The name the services' certificates carry, when it is not the host
    /// of their address.
    #[arg(long, env = "SYNCGOV_CONSOLE_TLS_DOMAIN")]
    pub tls_domain: Option<String>,

    /// The console's own certificate chain (PEM): it serves HTTPS when set,
    /// and its session cookie is then `Secure`.
    #[arg(long, env = "SYNCGOV_CONSOLE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The private key of --tls-cert (PEM).
    #[arg(long, env = "SYNCGOV_CONSOLE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// A file of 32 bytes or more that keys the session cookies. Replicas
    /// that share it share sessions, and sessions outlive a restart; without
    /// it a random key is made at start.
    #[arg(long, env = "SYNCGOV_CONSOLE_SESSION_SECRET_FILE")]
    pub session_secret_file: Option<PathBuf>,

    /// How long a sign-in lasts.
    #[arg(long, env = "SYNCGOV_CONSOLE_SESSION_LIFETIME", default_value = "8h", value_parser = parse_duration)]
    pub session_lifetime: Duration,

    /// Longest wait for a service's answer before the page says it is not
    /// answering.
    #[arg(long, env = "SYNCGOV_CONSOLE_CALL_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub call_timeout: Duration,
}

impl Settings {
    /// Settings for a console on `listen` calling the two services at
    /// `governor` and `sync_errors` in plain gRPC (what tests build in code).
    pub fn local(listen: SocketAddr, governor: &str, sync_errors: &str) -> Self {
        Self {
            listen,
            governor: governor.to_owned(),
            sync_errors: sync_errors.to_owned(),
            tls_ca: None,
            tls_client_cert: None,
            tls_client_key: None,
            tls_domain: None,
            tls_cert: None,
            tls_key: None,
            session_secret_file: None,
            session_lifetime: Duration::from_secs(8 * 3600),
            call_timeout: Duration::from_secs(10),
        }
    }

    /// How the console reaches the services.
    pub fn client_tls(&self) -> ClientTls {
        ClientTls {
            ca: self.tls_ca.clone(),
            cert: self.tls_client_cert.clone(),
            key: self.tls_client_key.clone(),
            domain: self.tls_domain.clone(),
        }
    }
}
