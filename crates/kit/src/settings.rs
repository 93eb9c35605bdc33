//! Helpers for typed settings read from flags and environment variables.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Parses a human duration such as `24h`, `60s`, `1500ms` or `1m 30s`.
///
/// Used as a clap `value_parser` so that a bad value names the flag and the
/// accepted forms before anything starts.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("{e}: expected a duration such as 500ms, 60s, 15m or 24h"))
}

/// Formats a duration the way [`parse_duration`] reads it.
pub fn format_duration(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

/// Reads one node of `--redis-cluster-nodes`: `host:port`, or a `redis://`
/// or `rediss://` URL (a cluster is reached over TCP).
pub fn parse_cluster_node(text: &str) -> Result<RedisUrl, String> {
    let text = text.trim();
    let url = if text.contains("://") {
        text.to_owned()
    } else {
        format!("redis://{text}")
    };
    if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
        return Err("expected host:port, redis://host:port or rediss://host:port".into());
    }
    url.parse()
}

/// A Redis URL that never prints its password.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl(String);

impl RedisUrl {
    /// The URL, password included: for the Redis client only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl FromStr for RedisUrl {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let ok = ["redis://", "rediss://", "redis+unix://", "unix://"]
            .iter()
            .any(|s| text.starts_with(s));
        if !ok {
            return Err("expected redis://, rediss://, redis+unix:// or unix://".into());
        }
        Ok(Self(text.to_owned()))
    }
}

impl fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Hide whatever stands between the scheme and an '@': user and password.
        let (url, query) = match self.0.split_once('?') {
            Some((url, query)) => (url, Some(query)),
            None => (self.0.as_str(), None),
        };
        match (url.find("://"), url.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => {
                write!(f, "{}://***{}", &url[..scheme], &url[at..])?
            }
            _ => f.write_str(url)?,
        }
        // A unix socket's URL carries its password in the query
        // (`?pass=...`): hide that too.
        if let Some(query) = query {
            let shown: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _))
                        if key.eq_ignore_ascii_case("pass")
                            || key.eq_ignore_ascii_case("password") =>
                    {
                        format!("{key}=***")
                    }
                    _ => pair.to_owned(),
                })
                .collect();
            write!(f, "?{}", shown.join("&"))?;
        }
        Ok(())
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Gives every setting of `command` that has no environment variable of
/// its own one named `prefix` + its name in capitals (`--redis-url` under
/// `QUOTA_GOVERNOR_` reads `QUOTA_GOVERNOR_REDIS_URL`): settings shared by
/// the services are written once and each service keeps its own prefix.
pub fn with_env_prefix(command: clap::Command, prefix: &str) -> clap::Command {
    command.mut_args(|arg| {
        let named = arg.get_long().is_some() && arg.get_env().is_none();
        let builtin = matches!(arg.get_id().as_str(), "help" | "version");
        if named && !builtin {
            let name = format!("{prefix}{}", arg.get_id().as_str().to_uppercase());
            arg.env(name)
        } else {
            arg
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_settings_take_the_prefix_and_keep_their_own_names() {
        let command = clap::Command::new("x")
            .arg(clap::Arg::new("redis_url").long("redis-url"))
            .arg(
                clap::Arg::new("tls_cert")
                    .long("tls-cert")
                    .env("SYNCGOV_TLS_CERT"),
            );
        let command = with_env_prefix(command, "QUOTA_GOVERNOR_");
        let env = |id: &str| {
            command
                .get_arguments()
                .find(|a| a.get_id() == id)
                .and_then(|a| a.get_env())
                .map(|e| e.to_string_lossy().into_owned())
        };
        assert_eq!(
            env("redis_url").as_deref(),
            Some("QUOTA_GOVERNOR_REDIS_URL")
        );
        assert_eq!(env("tls_cert").as_deref(), Some("SYNCGOV_TLS_CERT"));
        assert_eq!(env("help"), None);
    }

    #[test]
    fn reads_human_durations() {
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration(" 60s "), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
    }

    #[test]
    fn rejects_bare_numbers_with_a_hint() {
        let err = parse_duration("60").unwrap_err();
        assert!(err.contains("expected a duration"), "{err}");
    }

    #[test]
    fn redis_urls_hide_their_password() {
        let url: RedisUrl = "redis://:secret@localhost:6379".parse().unwrap();
        assert_eq!(url.to_string(), "redis://***@localhost:6379");
        assert_eq!(url.expose(), "redis://:secret@localhost:6379");
        assert!("localhost:6379".parse::<RedisUrl>().is_err());
        let unix: RedisUrl = "redis+unix:///run/redis.sock?db=2&pass=secret"
            .parse()
            .unwrap();
        assert_eq!(
            unix.to_string(),
            "redis+unix:///run/redis.sock?db=2&pass=***"
        );
        assert_eq!(
            format!("{unix:?}"),
            "redis+unix:///run/redis.sock?db=2&pass=***"
        );
    }

    #[test]
    fn formats_what_it_parses() {
        let d = Duration::from_secs(90);
        assert_eq!(parse_duration(&format_duration(d)), Ok(d));
    }
}
