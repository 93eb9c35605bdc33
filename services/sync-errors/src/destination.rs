//! Where a webhook may go, pure: the strict reading of a webhook URL, the
//! allow-list an operator sets for in-cluster relays, and the rule on the
//! addresses deliveries may connect to.
//!
//! A webhook URL is whatever a tenant's operator typed, so it is read as
//! hostile: it must be an absolute `https://` URL (`http://` only to a relay
//! on the allow-list) naming a host, with a port from 1 to 65535, no
//! credentials, no fragment, and nothing a URI cannot hold. By default a
//! delivery connects only to public unicast addresses: not loopback,
//! private, shared (carrier-grade NAT), link-local (where cloud metadata
//! services live), multicast, unspecified, documentation or otherwise
//! reserved ranges, in IPv4 and IPv6, IPv4 inside IPv6 (mapped, NAT64,
//! 6to4) judged as the IPv4 address it carries.
//!
//! Invariant: the address judged is the address connected to. The delivery
//! (`webhook.rs`) resolves the host, asks [`Policy::check_addr`] about each
//! address, and connects to a checked address itself, so a DNS answer that
//! changes between a check and a connection cannot move a delivery inside.
//! [`Policy::check_url`] refuses at set time what can be known without DNS
//! (an IP literal inside, plain HTTP to a host off the allow-list).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use crate::domain::InvalidInput;

/// Longest webhook URL.
pub const MAX_URL_LEN: usize = 2_048;

/// The scheme of a webhook URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP: only to a relay on the allow-list.
    Http,
    /// HTTP over TLS.
    Https,
}

/// The host a webhook URL names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    /// A DNS name, in lower case.
    Name(String),
    /// An IP address literal.
    Ip(IpAddr),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(name) => f.write_str(name),
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            Host::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// A webhook URL that passed every rule of its form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookUrl {
    /// `http` or `https`.
    pub scheme: Scheme,
    /// The host.
    pub host: Host,
    /// The port, explicit or the scheme's.
    pub port: u16,
    /// Path and query, as sent in the request line (at least `/`).
    pub target: String,
}

/// Why a URL is refused: the rule, for `InvalidInput`.
fn refuse(field: &str, rule: impl Into<String>) -> InvalidInput {
    InvalidInput::new(field, rule)
}

/// Characters a URI never holds unencoded (RFC 3986), besides spaces and
/// controls.
const NOT_IN_URIS: &[char] = &['"', '<', '>', '\\', '^', '`', '{', '|', '}'];

impl WebhookUrl {
    /// Reads `text` as a webhook URL; a refusal names `field` and the rule.
    pub fn parse(field: &str, text: &str) -> Result<Self, InvalidInput> {
        if text.len() > MAX_URL_LEN {
            return Err(refuse(
                field,
                format!("must be at most {MAX_URL_LEN} characters"),
            ));
        }
        if let Some(c) = text
            .chars()
            .find(|c| !c.is_ascii_graphic() || NOT_IN_URIS.contains(c))
        {
            let what = match c {
                ' ' => "a space".to_owned(),
                c if c.is_control() => "a control character".to_owned(),
                c if !c.is_ascii() => format!("{c:?} (percent-encode it; a host in punycode)"),
                c => format!("{c:?}"),
            };
            return Err(refuse(
                field,
                format!(
                    "must be a URL without spaces or characters a URL cannot hold; it holds {what}"
                ),
            ));
        }
        let (scheme, rest) = match text.split_once("://") {
            Some((s, rest)) if s.eq_ignore_ascii_case("https") => (Scheme::Https, rest),
            Some((s, rest)) if s.eq_ignore_ascii_case("http") => (Scheme::Http, rest),
            _ => {
                return Err(refuse(
                    field,
                    "must start with https:// (or http:// for a relay on --webhook-allow)",
                ));
            }
        };
        if rest.contains('#') {
            return Err(refuse(field, "must not hold a fragment (#...)"));
        }
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(end);
        if authority.contains('@') {
            return Err(refuse(
                field,
                "must not hold credentials (user:password@): receivers check the signature instead",
            ));
        }
        if authority.is_empty() {
            return Err(refuse(field, "must name a host (https://host/path)"));
        }
        let (host, port) = split_host_port(field, authority)?;
        let port = match port {
            None => match scheme {
                Scheme::Http => 80,
                Scheme::Https => 443,
            },
            Some(p) => parse_port(field, p)?,
        };
        check_percent_escapes(field, target)?;
        let target = match target {
            "" => "/".to_owned(),
            t if t.starts_with('?') => format!("/{t}"),
            t => t.to_owned(),
        };
        Ok(Self {
            scheme,
            host,
            port,
            target,
        })
    }

    /// `host` or `host:port` as the `Host` header carries it (the port only
    /// when it is not the scheme's).
    pub fn authority(&self) -> String {
        let default = match self.scheme {
            Scheme::Http => 80,
            Scheme::Https => 443,
        };
        if self.port == default {
            self.host.to_string()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Names the destination (`host:port`, scheme included), for logs and
    /// the back-off that spares a destination that keeps timing out.
    pub fn destination(&self) -> String {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        format!("{scheme}://{}:{}", self.host, self.port)
    }
}

/// Splits an authority (without credentials) into its host and its port
/// text, if any.
fn split_host_port<'a>(
    field: &str,
    authority: &'a str,
) -> Result<(Host, Option<&'a str>), InvalidInput> {
    if let Some(inner) = authority.strip_prefix('[') {
        let Some((ip, after)) = inner.split_once(']') else {
            return Err(refuse(
                field,
                "holds a [ without its ] around an IPv6 address",
            ));
        };
        let ip: Ipv6Addr = ip.parse().map_err(|_| {
            refuse(
                field,
                "must hold a valid IPv6 address between [ and ] (no zone)",
            )
        })?;
        let port =
            match after {
                "" => None,
                a => Some(a.strip_prefix(':').ok_or_else(|| {
                    refuse(field, "must have only :port after an IPv6 address's ]")
                })?),
            };
        return Ok((Host::Ip(IpAddr::V6(ip)), port));
    }
    let (host, port) = match authority.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    if host.is_empty() {
        return Err(refuse(field, "must name a host (https://host/path)"));
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok((Host::Ip(IpAddr::V4(ip)), port));
    }
    check_dns_name(field, host)?;
    Ok((Host::Name(host.to_ascii_lowercase()), port))
}

/// A port: 1 to 65535, digits only.
fn parse_port(field: &str, text: &str) -> Result<u16, InvalidInput> {
    let rule = || refuse(field, "must have a port from 1 to 65535");
    if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(rule());
    }
    match text.parse::<u32>() {
        Ok(p @ 1..=65_535) => Ok(p as u16),
        _ => Err(rule()),
    }
}

/// A DNS name: dot-separated labels of letters, digits and hyphens, 1 to
/// 63 characters each, not starting or ending with a hyphen, 253 at most in
/// all; the last label not numeric, so that no resolver reads the name as
/// an address in another notation (`2130706433`, `0x7f.1`, `127.1`).
fn check_dns_name(field: &str, name: &str) -> Result<(), InvalidInput> {
    let rule = || {
        refuse(
            field,
            "must name a host by DNS name (letters, digits, hyphens, dots) or IP address",
        )
    };
    if name.len() > 253 {
        return Err(rule());
    }
    for label in name.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(rule());
        }
    }
    let last = name.rsplit('.').next().unwrap_or_default();
    let numeric = last.bytes().all(|b| b.is_ascii_digit())
        || (last.len() > 1 && last[..2].eq_ignore_ascii_case("0x"));
    if numeric {
        return Err(rule());
    }
    Ok(())
}

/// Every `%` starts an escape of two hex digits.
fn check_percent_escapes(field: &str, target: &str) -> Result<(), InvalidInput> {
    let bytes = target.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'%'
            && !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
        {
            return Err(refuse(
                field,
                "must hold % only as an escape of two hex digits",
            ));
        }
    }
    Ok(())
}

/// `text` with the credentials of its authority (`user:password@`) masked,
/// for showing a URL stored before credentials were refused.
pub fn redact_credentials(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return text.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
        None => text.to_owned(),
    }
}

/// A range of addresses: an address and how many of its leading bits count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Whether `ip` is in the range (IPv4-mapped IPv6 counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// One entry of the allow-list (`--webhook-allow`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Allowed {
    /// Any address in this range, any port: `10.20.0.0/16`, `fd00::/8`, or
    /// one address.
    Net(IpNet),
    /// This host and port as the URL names them, wherever the name
    /// resolves: `relay.syncgov.svc:8080`, `[fd00::7]:443`.
    HostPort(Host, u16),
}

impl fmt::Display for Allowed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Allowed::Net(net) => net.fmt(f),
            Allowed::HostPort(host, port) => write!(f, "{host}:{port}"),
        }
    }
}

impl FromStr for Allowed {
    type Err = String;

    /// `CIDR`, an IP address, or `host:port`.
    fn from_str(text: &str) -> Result<Self, String> {
        let rule = || {
            format!(
                "{text:?} is not a CIDR (10.0.0.0/8, fd00::/8), an IP address or a host:port \
                 (relay.syncgov.svc:8080, [fd00::7]:443)"
            )
        };
        let text = text.trim();
        if let Some((addr, prefix)) = text.split_once('/') {
            let addr: IpAddr = addr.parse().map_err(|_| rule())?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let prefix: u8 = prefix.parse().ok().filter(|p| *p <= max).ok_or_else(rule)?;
            return Ok(Allowed::Net(IpNet { addr, prefix }));
        }
        if let Ok(addr) = text.parse::<IpAddr>() {
            let prefix = if addr.is_ipv4() { 32 } else { 128 };
            return Ok(Allowed::Net(IpNet { addr, prefix }));
        }
        let (host, port) = split_host_port("allow", text).map_err(|_| rule())?;
        let port = parse_port("allow", port.ok_or_else(rule)?).map_err(|_| rule())?;
        Ok(Allowed::HostPort(host, port))
    }
}

/// Which destinations deliveries may reach.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    /// Destinations allowed although inside (in-cluster relays); empty by
    /// default: public addresses over HTTPS only.
    pub allow: Vec<Allowed>,
}

impl Policy {
    /// Whether the URL's own host and port are listed as `host:port`.
    fn names(&self, url: &WebhookUrl) -> bool {
        self.allow
            .iter()
            .any(|a| matches!(a, Allowed::HostPort(h, p) if *h == url.host && *p == url.port))
    }

    /// Whether `ip` is in a listed range.
    fn covers(&self, ip: IpAddr) -> bool {
        self.allow
            .iter()
            .any(|a| matches!(a, Allowed::Net(net) if net.contains(ip)))
    }

    /// What can be refused when the URL is set, before any DNS: an IP
    /// literal inside that no entry allows, and plain HTTP to a host no
    /// entry can allow. Names are judged again, by address, on every
    /// delivery ([`Policy::check_addr`]).
    pub fn check_url(&self, field: &str, url: &WebhookUrl) -> Result<(), InvalidInput> {
        let named = self.names(url);
        let kind = match url.host {
            Host::Ip(ip) if !named && !self.covers(ip) => inside(ip).map(|kind| (ip, kind)),
            _ => None,
        };
        if let Some((ip, kind)) = kind {
            return Err(refuse(
                field,
                format!(
                    "names {ip}, a {kind} address, which webhooks may not reach \
                     (an in-cluster relay must be listed in --webhook-allow)"
                ),
            ));
        }
        if url.scheme == Scheme::Http {
            let may = named
                || match url.host {
                    Host::Ip(ip) => self.covers(ip),
                    // Judged by address when delivering.
                    Host::Name(_) => self.allow.iter().any(|a| matches!(a, Allowed::Net(_))),
                };
            if !may {
                return Err(refuse(
                    field,
                    "must be https:// (plain http:// only to a relay listed in --webhook-allow)",
                ));
            }
        }
        Ok(())
    }

    /// Whether a delivery for `url` may connect to `addr`, one of the
    /// addresses its host resolved to; the reason when not.
    pub fn check_addr(&self, url: &WebhookUrl, addr: SocketAddr) -> Result<(), String> {
        let ip = canonical(addr.ip());
        let listed = self.names(url) || self.covers(ip);
        if let Some(kind) = inside(ip).filter(|_| !listed) {
            return Err(format!(
                "{} resolves to {ip}, a {kind} address, which webhooks may not reach",
                url.host
            ));
        }
        if url.scheme == Scheme::Http && !listed {
            return Err(format!(
                "plain http:// to {ip}, which --webhook-allow does not list; use https://"
            ));
        }
        Ok(())
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// What kind of address inside `ip` is, or `None` for a public unicast
/// address that deliveries may reach.
pub fn inside(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => inside_v4(v4),
        IpAddr::V6(v6) => inside_v6(v6),
    }
}

/// The IPv4 ranges that are not public unicast (IANA's special-purpose
/// registry), most specific first where they overlap.
const V4_INSIDE: &[([u8; 4], u8, &str)] = &[
    ([0, 0, 0, 0], 8, "unspecified (this network)"),
    ([10, 0, 0, 0], 8, "private"),
    (
        [100, 64, 0, 0],
        10,
        "shared (carrier-grade NAT, some cloud metadata)",
    ),
    ([127, 0, 0, 0], 8, "loopback"),
    ([169, 254, 0, 0], 16, "link-local (cloud metadata)"),
    ([172, 16, 0, 0], 12, "private"),
    ([192, 0, 0, 0], 24, "reserved (IETF protocol assignments)"),
    ([192, 0, 2, 0], 24, "documentation"),
    ([192, 88, 99, 0], 24, "reserved (6to4 relay)"),
    ([192, 168, 0, 0], 16, "private"),
    ([198, 18, 0, 0], 15, "benchmarking"),
    ([198, 51, 100, 0], 24, "documentation"),
    ([203, 0, 113, 0], 24, "documentation"),
    ([224, 0, 0, 0], 4, "multicast"),
    ([240, 0, 0, 0], 4, "reserved (and broadcast)"),
];

fn inside_v4(ip: Ipv4Addr) -> Option<&'static str> {
    V4_INSIDE.iter().find_map(|(net, prefix, kind)| {
        IpNet {
            addr: IpAddr::V4(Ipv4Addr::from(*net)),
            prefix: *prefix,
        }
        .contains(IpAddr::V4(ip))
        .then_some(*kind)
    })
}

/// The IPv6 ranges inside global unicast (2000::/3) that are not public.
const V6_INSIDE: &[(u128, u8, &str)] = &[
    (0x2001_0000 << 96, 32, "Teredo tunnel"),
    (0x2001_0010 << 96, 28, "reserved (ORCHID)"),
    (0x2001_0020 << 96, 28, "reserved (ORCHIDv2)"),
    (0x2001_0db8 << 96, 32, "documentation"),
    (0x3fff_0000 << 96, 20, "documentation"),
];

fn inside_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let bits = u128::from(ip);
    let within = |net: u128, prefix: u32| {
        let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
        bits & mask == net & mask
    };
    if let Some(v4) = ip.to_ipv4_mapped() {
        return inside_v4(v4);
    }
    // IPv4 carried inside IPv6 reaches that IPv4 address: judged as it.
    if within(0x0064_ff9b << 96, 96) {
        return inside_v4(Ipv4Addr::from(bits as u32));
    }
    if within(0x2002 << 112, 16) {
        return inside_v4(Ipv4Addr::from((bits >> 80) as u32));
    }
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    if within(0xfc00 << 112, 7) {
        return Some("unique local (private, cloud metadata)");
    }
    if within(0xfe80 << 112, 10) {
        return Some("link-local");
    }
    if within(0xfec0 << 112, 10) {
        return Some("site-local");
    }
    if within(0xff00 << 112, 8) {
        return Some("multicast");
    }
    if !within(0x2000 << 112, 3) {
        // Everything outside global unicast: IPv4-compatible, NAT64 for
        // local use, discard-only, and unassigned space.
        return Some("reserved");
    }
    V6_INSIDE
        .iter()
        .find_map(|(net, prefix, kind)| within(*net, u32::from(*prefix)).then_some(*kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<WebhookUrl, String> {
        WebhookUrl::parse("settings.webhook_url", text).map_err(|e| e.rule)
    }

    #[test]
    fn urls_are_read_strictly() {
        let url = parse("https://Hooks.Example.com/a/b?c=d%20e").unwrap();
        assert_eq!(url.scheme, Scheme::Https);
        assert_eq!(url.host, Host::Name("hooks.example.com".into()));
        assert_eq!(url.port, 443);
        assert_eq!(url.target, "/a/b?c=d%20e");
        assert_eq!(url.authority(), "hooks.example.com");
        let url = parse("http://[fd00::7]:8080").unwrap();
        assert_eq!(url.host, Host::Ip("fd00::7".parse().unwrap()));
        assert_eq!((url.port, url.target.as_str()), (8080, "/"));
        assert_eq!(url.authority(), "[fd00::7]:8080");
        assert_eq!(parse("https://h.io?x=1").unwrap().target, "/?x=1");

        for (bad, rule) in [
            ("http://127.0.0.1:46542/a b", "space"),
            ("http:///nohost", "must name a host"),
            ("http://127.0.0.1:99999/", "port from 1 to 65535"),
            ("http://127.0.0.1:0/", "port from 1 to 65535"),
            ("http://h.io:/", "port from 1 to 65535"),
            ("http://h.io:8o/", "port from 1 to 65535"),
            ("http://user:password@h.io/", "credentials"),
            ("http://user@h.io/", "credentials"),
            ("http://[::1", "without its ]"),
            ("http://[::1%eth0]/", "valid IPv6"),
            ("http://[::1]x/", "only :port"),
            ("ftp://h.io/", "must start with https://"),
            ("h.io/x", "must start with https://"),
            ("https://h.io/#top", "fragment"),
            ("https://h.io/%zz", "escape"),
            ("https://h.io/a|b", "'|'"),
            ("https://h_o.io/", "DNS name"),
            ("https://-h.io/", "DNS name"),
            ("https://h..io/", "DNS name"),
            ("https://2130706433/", "DNS name"),
            ("https://127.1/", "DNS name"),
            ("https://0x7f.1/", "DNS name"),
            ("https://hööks.io/", "punycode"),
            ("https://h.io/\tx", "control"),
        ] {
            let got = parse(bad).expect_err(bad);
            assert!(got.contains(rule), "{bad}: {got}");
        }
        let long = format!("https://h.io/{}", "a".repeat(MAX_URL_LEN));
        assert!(parse(&long).unwrap_err().contains("at most"));
    }

    #[test]
    fn credentials_are_masked_when_shown() {
        assert_eq!(
            redact_credentials("http://user:pw@h.io:8/x?a=b@c"),
            "http://***@h.io:8/x?a=b@c"
        );
        assert_eq!(redact_credentials("https://h.io/a@b"), "https://h.io/a@b");
        assert_eq!(redact_credentials("nonsense"), "nonsense");
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn only_public_unicast_addresses_are_outside() {
        for inside_ip in [
            "0.0.0.0",
            "10.1.2.3",
            "100.100.100.200",
            "127.0.0.1",
            "127.255.0.9",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.192",
            "192.0.2.1",
            "192.168.1.1",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::10.0.0.1",
            "64:ff9b:1::1",
            "2002:a9fe:a9fe::1",
            "2001::1",
            "2001:db8::1",
            "fd00:ec2::254",
            "fc00::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "100::1",
        ] {
            assert!(inside(ip(inside_ip)).is_some(), "{inside_ip} passed");
        }
        for public in [
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "192.169.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::8.8.8.8",
            "2002:0808:0808::1",
        ] {
            assert_eq!(inside(ip(public)), None, "{public} refused");
        }
    }

    fn allow(entries: &[&str]) -> Policy {
        Policy {
            allow: entries.iter().map(|e| e.parse().unwrap()).collect(),
        }
    }

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_allow_list_reads_cidrs_addresses_and_host_ports() {
        assert_eq!(
            "10.0.0.0/8".parse::<Allowed>().unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(
            "10.1.2.3".parse::<Allowed>().unwrap().to_string(),
            "10.1.2.3/32"
        );
        assert_eq!(
            "Relay.svc:8080".parse::<Allowed>().unwrap().to_string(),
            "relay.svc:8080"
        );
        assert_eq!(
            "[fd00::7]:443".parse::<Allowed>().unwrap().to_string(),
            "[fd00::7]:443"
        );
        for bad in [
            "10.0.0.0/33",
            "relay.svc",
            "relay.svc:0",
            "a b:1",
            "::1/129",
            "",
        ] {
            assert!(bad.parse::<Allowed>().is_err(), "{bad}");
        }
    }

    #[test]
    fn by_default_only_https_to_public_addresses() {
        let policy = Policy::default();
        let check = |text: &str| {
            policy
                .check_url("f", &parse(text).unwrap())
                .map_err(|e| e.rule)
        };
        assert!(check("https://hooks.example.com/x").is_ok());
        assert!(check("https://8.8.8.8/x").is_ok());
        assert!(
            check("https://127.0.0.1:8443/")
                .unwrap_err()
                .contains("loopback")
        );
        assert!(
            check("https://169.254.169.254/latest")
                .unwrap_err()
                .contains("link-local")
        );
        assert!(
            check("https://[::ffff:10.0.0.1]/")
                .unwrap_err()
                .contains("private")
        );
        assert!(
            check("http://hooks.example.com/")
                .unwrap_err()
                .contains("https://")
        );

        let url = parse("https://hooks.example.com/x").unwrap();
        assert!(policy.check_addr(&url, addr("93.184.215.14:443")).is_ok());
        let refused = policy.check_addr(&url, addr("127.0.0.1:443")).unwrap_err();
        assert!(refused.contains("loopback"), "{refused}");
        assert!(
            policy
                .check_addr(&url, addr("[::ffff:169.254.169.254]:443"))
                .is_err()
        );
        assert!(
            policy
                .check_addr(&url, addr("[fd00:ec2::254]:443"))
                .is_err()
        );
    }

    #[test]
    fn the_allow_list_opens_what_it_names_and_nothing_else() {
        let policy = allow(&["10.20.0.0/16", "relay.svc:8080"]);
        let relay = parse("http://relay.svc:8080/hook").unwrap();
        assert!(policy.check_url("f", &relay).is_ok());
        assert!(
            policy.check_addr(&relay, addr("10.99.0.1:8080")).is_ok(),
            "named"
        );
        let other_port = parse("http://relay.svc:8081/hook").unwrap();
        assert!(
            policy.check_url("f", &other_port).is_ok(),
            "judged by address"
        );
        assert!(
            policy
                .check_addr(&other_port, addr("10.20.3.4:8081"))
                .is_ok()
        );
        assert!(
            policy
                .check_addr(&other_port, addr("10.21.3.4:8081"))
                .is_err()
        );
        assert!(
            policy
                .check_addr(&other_port, addr("8.8.8.8:8081"))
                .is_err(),
            "http to public"
        );
        let literal = parse("http://10.20.1.1:9000/").unwrap();
        assert!(policy.check_url("f", &literal).is_ok());
        assert!(
            policy
                .check_url("f", &parse("http://10.21.1.1/").unwrap())
                .is_err()
        );

        let only_names = allow(&["relay.svc:8080"]);
        assert!(only_names.check_url("f", &other_port).is_err());
        assert!(
            only_names
                .check_url("f", &parse("http://127.0.0.1:8080/").unwrap())
                .is_err()
        );
    }
}
