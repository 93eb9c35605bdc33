//! Where the services are. A [`Target`] names a service and the flag that
//! points at it, so that every failure to reach one can say how to point at
//! another. Connecting to one is `client`'s job.

use syncgov_kit::security::ClientSettings;

/// A service to talk to.
#[derive(Clone, Debug)]
pub struct Target {
    /// Its name, as operators know it.
    pub name: &'static str,
    /// Its gRPC address, `http://host:port`.
    pub url: String,
    /// The flag that sets the address.
    pub flag: &'static str,
    /// The environment variable that sets the address.
    pub env: &'static str,
    /// TLS and the bearer token, shared by both services.
    pub security: ClientSettings,
}

impl Target {
    /// The quota governor at `url` (`host:port` is taken as `http://host:port`).
    pub fn governor(url: &str) -> Self {
        Self {
            name: "quota-governor",
            url: with_scheme(url),
            flag: "--governor",
            env: "SYNCCTL_GOVERNOR",
            security: ClientSettings::default(),
        }
    }

    /// The sync-error service at `url`.
    pub fn sync_errors(url: &str) -> Self {
        Self {
            name: "sync-errors",
            url: with_scheme(url),
            flag: "--sync-errors",
            env: "SYNCCTL_SYNC_ERRORS",
            security: ClientSettings::default(),
        }
    }

    /// The same service, reached with `security`.
    pub fn with_security(mut self, security: &ClientSettings) -> Self {
        self.security = security.clone();
        if self.security.tls_ca.is_some() {
            self.url = self.url.replacen("http://", "https://", 1);
        }
        self
    }

    /// The other syncgov service, the likeliest owner of a wrong address.
    pub fn other_service(&self) -> &'static str {
        if self.name == "quota-governor" {
            "sync-errors"
        } else {
            "quota-governor"
        }
    }

    /// How to point syncctl at another address.
    pub fn hint(&self) -> String {
        format!(
            "(point syncctl at the {} with {} URL or {}=URL)",
            self.name, self.flag, self.env
        )
    }
}

/// `host:port` as `http://host:port`; URLs with a scheme stay as they are.
fn with_scheme(url: &str) -> String {
    if url.contains("://") {
        url.to_owned()
    } else {
        format!("http://{url}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_address_gets_http() {
        assert_eq!(
            Target::governor("127.0.0.1:9").url,
            "http://127.0.0.1:9".to_string()
        );
        assert_eq!(
            Target::sync_errors("https://errors.internal").url,
            "https://errors.internal"
        );
    }
}
