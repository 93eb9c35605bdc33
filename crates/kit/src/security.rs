//! The settings every listener shares for who may connect and call: TLS
//! (optionally mutual) and bearer-token authentication. Both are off by
//! default, so a service starts with no set-up on a laptop; a deployment
//! turns them on (see `docs/SECURITY.md`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::{AuthFiles, Verifier};
use crate::reload::Reloading;
use crate::settings::parse_duration;
use crate::task::BoxFuture;
use crate::tls::{ClientTls, ServerConfigs, ServerTls};

/// TLS and authentication of a listener, from flags or environment.
#[derive(Clone, Debug, clap::Args)]
pub struct SecuritySettings {
    /// The listener's certificate chain (PEM); TLS is on when set. It must
    /// be valid now (neither expired nor valid only later).
    #[arg(long, env = "SYNCGOV_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The private key of --tls-cert (PEM).
    #[arg(long, env = "SYNCGOV_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Requires gRPC clients to present a certificate chaining to this CA
    /// (PEM): mutual TLS. The admin port asks for none (probes, scrapers).
    #[arg(long, env = "SYNCGOV_TLS_CLIENT_CA", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,

    /// A static token file: `<token> <role>[:<max priority>] <orgs> [<name>]`
    /// per line. Authentication is on when this or a JWT key is set.
    #[arg(long, env = "SYNCGOV_AUTH_TOKEN_FILE")]
    pub auth_token_file: Option<PathBuf>,

    /// A file holding the secret of HS256-signed JWTs (32 bytes or more);
    /// repeat (or separate with commas) to accept old and new secrets while
    /// rotating.
    #[arg(
        long = "auth-jwt-secret-file",
        env = "SYNCGOV_AUTH_JWT_SECRET_FILES",
        value_delimiter = ','
    )]
    pub auth_jwt_secret_files: Vec<PathBuf>,

    /// A PEM public key of RS256- or EdDSA-signed JWTs; repeat (or separate
    /// with commas) to accept old and new keys while rotating.
    #[arg(
        long = "auth-jwt-public-key",
        env = "SYNCGOV_AUTH_JWT_PUBLIC_KEYS",
        value_delimiter = ','
    )]
    pub auth_jwt_public_keys: Vec<PathBuf>,

    /// The audience (`aud`) every JWT must name.
    #[arg(long, env = "SYNCGOV_AUTH_AUDIENCE", default_value = "syncgov")]
    pub auth_audience: String,

    /// The issuer (`iss`) every JWT must name, when set.
    #[arg(long, env = "SYNCGOV_AUTH_ISSUER")]
    pub auth_issuer: Option<String>,

    /// How often certificate, key and token files are checked for changes.
    #[arg(long, env = "SYNCGOV_RELOAD_INTERVAL", default_value = "10s", value_parser = parse_duration)]
    pub reload_interval: Duration,
}

impl Default for SecuritySettings {
    /// Off: plain TCP, no tokens.
    fn default() -> Self {
        Self {
            tls_cert: None,
            tls_key: None,
            tls_client_ca: None,
            auth_token_file: None,
            auth_jwt_secret_files: Vec::new(),
            auth_jwt_public_keys: Vec::new(),
            auth_audience: "syncgov".into(),
            auth_issuer: None,
            reload_interval: Duration::from_secs(10),
        }
    }
}

/// What [`SecuritySettings::load`] built.
pub struct Security {
    /// Checks tokens; `None` when authentication is off.
    pub verifier: Option<Arc<Reloading<Verifier>>>,
    /// The listeners' TLS (the gRPC port's and the admin port's); `None`
    /// for plain TCP.
    pub tls: Option<Arc<Reloading<ServerConfigs>>>,
    /// Re-reads the files as they are rotated; runs beside the server.
    pub watch: BoxFuture,
}

impl SecuritySettings {
    /// The auth files named by these settings.
    pub fn auth_files(&self) -> AuthFiles {
        AuthFiles {
            token_file: self.auth_token_file.clone(),
            jwt_secret_files: self.auth_jwt_secret_files.clone(),
            jwt_public_keys: self.auth_jwt_public_keys.clone(),
            audience: self.auth_audience.clone(),
            issuer: self.auth_issuer.clone(),
        }
    }

    /// Reads every file and checks it as [`SecuritySettings::load`] does,
    /// keeping nothing and logging nothing: what a binary runs before it
    /// binds any port, so that a missing, malformed or expired file stops
    /// it before anything listens.
    pub fn check(&self) -> anyhow::Result<()> {
        let files = self.auth_files();
        if files.enabled() {
            Verifier::load(&files)?;
        }
        if let Some(tls) = self.server_tls()? {
            tls.load()?;
        }
        Ok(())
    }

    /// The listener's TLS files, when TLS is on.
    fn server_tls(&self) -> anyhow::Result<Option<ServerTls>> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Ok(Some(ServerTls {
                cert: cert.clone(),
                key: key.clone(),
                client_ca: self.tls_client_ca.clone(),
            })),
            (None, None) => Ok(None),
            _ => anyhow::bail!("--tls-cert and --tls-key go together"),
        }
    }

    /// Reads every file; a missing or malformed one, or a certificate that
    /// is not valid now, is an error.
    pub fn load(&self) -> anyhow::Result<Security> {
        let mut watches: Vec<BoxFuture> = Vec::new();
        let files = self.auth_files();
        let verifier = if files.enabled() {
            let verifier = Reloading::new(Verifier::load(&files)?);
            let load = {
                let files = files.clone();
                move || Verifier::load(&files)
            };
            watches.push(verifier.watch("credentials", files.files(), self.reload_interval, load));
            Some(verifier)
        } else {
            None
        };
        let tls = match self.server_tls()? {
            Some(tls) => {
                let (configs, watch) = tls.reloading(self.reload_interval)?;
                watches.push(watch);
                Some(configs)
            }
            None => None,
        };
        Ok(Security {
            verifier,
            tls,
            // Dropping the set, with this future, stops the watchers.
            watch: Box::pin(async move {
                let mut running = tokio::task::JoinSet::new();
                for watch in watches {
                    running.spawn(watch);
                }
                while running.join_next().await.is_some() {}
            }),
        })
    }
}

/// How a client reaches a service and proves who it is: TLS files and a
/// bearer token, from flags or environment (for `syncctl` and `loadgen`).
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ClientSettings {
    /// The CA the services' certificates chain to (PEM); TLS is on when set.
    #[arg(long, env = "SYNCGOV_TLS_CA", global = true)]
    pub tls_ca: Option<PathBuf>,

    /// A client certificate (PEM), for services that require mutual TLS.
    #[arg(
        long = "tls-client-cert",
        env = "SYNCGOV_TLS_CLIENT_CERT",
        global = true,
        requires = "tls_client_key"
    )]
    pub tls_client_cert: Option<PathBuf>,

    /// The key of --tls-client-cert (PEM).
    #[arg(
        long = "tls-client-key",
        env = "SYNCGOV_TLS_CLIENT_KEY",
        global = true,
        requires = "tls_client_cert"
    )]
    pub tls_client_key: Option<PathBuf>,

    /// The name the services' certificates carry, when it is not the host
    /// of the address.
    #[arg(long, env = "SYNCGOV_TLS_DOMAIN", global = true)]
    pub tls_domain: Option<String>,

    /// The bearer token to call with (prefer --token-file: flags show in
    /// the process list).
    #[arg(
        long,
        env = "SYNCGOV_TOKEN",
        global = true,
        hide_env_values = true,
        conflicts_with = "token_file"
    )]
    pub token: Option<String>,

    /// A file holding the bearer token.
    #[arg(long, env = "SYNCGOV_TOKEN_FILE", global = true)]
    pub token_file: Option<PathBuf>,
}

impl ClientSettings {
    /// The TLS part.
    pub fn tls(&self) -> ClientTls {
        ClientTls {
            ca: self.tls_ca.clone(),
            cert: self.tls_client_cert.clone(),
            key: self.tls_client_key.clone(),
            domain: self.tls_domain.clone(),
        }
    }

    /// The token to send, if any.
    pub fn bearer(&self) -> anyhow::Result<crate::auth::Bearer> {
        use anyhow::Context;
        match (&self.token, &self.token_file) {
            (Some(token), _) => crate::auth::Bearer::fixed(token.trim()).context("--token"),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("--token-file: cannot read {}", path.display()))?;
                crate::auth::Bearer::fixed(text.trim()).context("--token-file")
            }
            (None, None) => Ok(crate::auth::Bearer::none()),
        }
    }
}
