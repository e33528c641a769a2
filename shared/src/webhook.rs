//! Webhook addresses and signatures: which URLs Petty will send to (checked when a webhook is
//! registered and again, after DNS resolution, before every delivery), and the
//! `Petty-Signature` header receivers verify.
//!
//! The address rules stop a user from aiming Petty's servers at what only they can reach:
//! loopback, private, carrier-grade NAT, link-local (the instance metadata service at
//! 169.254.169.254 among them), unique-local, multicast, documentation and reserved ranges,
//! including IPv4 addresses embedded in IPv6 (mapped, NAT64). Only `https` on an allowed port
//! is accepted; the local stage alone may allow `http://127.0.0.1:<port>`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use aws_lc_rs::hmac;

/// Why an address is refused; `code` is stable (logged, stored as the delivery's error).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
}

fn refuse(code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal { code, message: message.into() }
}

/// What a stage allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookPolicy {
    /// Ports besides 443 (`WEBHOOK_ALLOWED_PORTS`).
    pub allowed_ports: Vec<u16>,
    /// `http://127.0.0.1:<any port>` (`WEBHOOK_ALLOW_LOOPBACK`, local stage only).
    pub allow_loopback: bool,
}

impl Default for WebhookPolicy {
    fn default() -> Self {
        Self { allowed_ports: vec![443], allow_loopback: false }
    }
}

/// A URL that passed the checks that need no DNS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub https: bool,
    /// The host as written (the TLS server name and `Host` header).
    pub host: String,
    pub port: u16,
    /// Path and query.
    pub path: String,
    /// The local loopback exception applies.
    pub loopback: bool,
}

impl WebhookPolicy {
    /// `WEBHOOK_ALLOWED_PORTS` (default `443`) and `WEBHOOK_ALLOW_LOOPBACK` (default off).
    pub fn from_env(env: &crate::Env) -> Result<Self, crate::ConfigError> {
        let name = "WEBHOOK_ALLOWED_PORTS";
        let allowed_ports = Self::parse_ports(env.optional(name).unwrap_or("443"))
            .map_err(|reason| crate::ConfigError::Malformed { name: name.to_owned(), reason })?;
        Ok(Self { allowed_ports, allow_loopback: env.parse_or("WEBHOOK_ALLOW_LOOPBACK", false)? })
    }

    /// Parses comma-separated ports (`"443,8443"`).
    pub fn parse_ports(raw: &str) -> Result<Vec<u16>, String> {
        raw.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| p.parse::<u16>().map_err(|_| format!("not a port: {p}")))
            .collect()
    }

    /// Checks a URL's form: scheme, credentials, host, port; literal IP hosts are checked
    /// here, names after resolution ([`WebhookPolicy::check_resolved`]).
    pub fn check_url(&self, raw: &str) -> Result<Target, Refusal> {
        if raw.len() > petty_api::notifications::WEBHOOK_URL_MAX {
            return Err(refuse("url_too_long", "the URL is longer than 2048 characters"));
        }
        let url = url::Url::parse(raw).map_err(|e| refuse("invalid_url", format!("not a URL: {e}")))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse("credentials_in_url", "the URL must not carry a user name or password"));
        }
        if url.fragment().is_some() {
            return Err(refuse("fragment_in_url", "the URL must not have a #fragment"));
        }
        let host = url.host().ok_or_else(|| refuse("invalid_url", "the URL has no host"))?;
        let literal: Option<IpAddr> = match &host {
            url::Host::Ipv4(ip) => Some(IpAddr::V4(*ip)),
            url::Host::Ipv6(ip) => Some(IpAddr::V6(*ip)),
            url::Host::Domain(_) => None,
        };
        let loopback =
            self.allow_loopback && url.scheme() == "http" && literal == Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            _ => return Err(refuse("scheme_not_allowed", "only https URLs are accepted")),
        }
        let port = url.port_or_known_default().unwrap_or(443);
        if !loopback && port != 443 && !self.allowed_ports.contains(&port) {
            return Err(refuse("port_not_allowed", format!("port {port} is not allowed (443 only)")));
        }
        if let (Some(ip), false) = (literal, loopback) {
            check_ip(ip)?;
        }
        let host_str = match host {
            url::Host::Domain(d) => d.to_ascii_lowercase(),
            url::Host::Ipv4(ip) => ip.to_string(),
            url::Host::Ipv6(ip) => format!("[{ip}]"),
        };
        let mut path = url.path().to_owned();
        if let Some(q) = url.query() {
            path.push('?');
            path.push_str(q);
        }
        Ok(Target { https: url.scheme() == "https", host: host_str, port, path, loopback })
    }

    /// Checks every address a name resolved to (one private answer refuses the lot: a
    /// rebinding name may answer differently next time).
    pub fn check_resolved(&self, target: &Target, addrs: &[SocketAddr]) -> Result<SocketAddr, Refusal> {
        let first = *addrs.first().ok_or_else(|| refuse("dns_no_address", "the host has no address"))?;
        for a in addrs {
            if target.loopback && a.ip() == IpAddr::V4(Ipv4Addr::LOCALHOST) {
                continue;
            }
            check_ip(a.ip())?;
        }
        Ok(first)
    }

    /// Resolves the target's host and checks the answers: the address to connect to.
    pub async fn resolve(&self, target: &Target) -> Result<SocketAddr, Refusal> {
        let host = target.host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, target.port))
            .await
            .map_err(|_| refuse("dns_failed", "the host did not resolve"))?
            .collect();
        self.check_resolved(target, &addrs)
    }
}

/// Refuses every address that is not a public unicast one.
pub fn check_ip(ip: IpAddr) -> Result<(), Refusal> {
    match ip {
        IpAddr::V4(v4) => check_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = embedded_v4(v6) {
                return check_v4(v4);
            }
            check_v6(v6)
        }
    }
}

fn check_v4(ip: Ipv4Addr) -> Result<(), Refusal> {
    let [a, b, c, _] = ip.octets();
    let class = if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local (instance metadata)")
    } else if a == 100 && (64..128).contains(&b) {
        Some("carrier-grade NAT")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if ip.is_unspecified() || a == 0 {
        Some("unspecified")
    } else if ip.is_broadcast() || a >= 240 {
        Some("reserved")
    } else if ip.is_documentation() || (a == 198 && (18..20).contains(&b)) || (a == 192 && b == 0 && c == 0) {
        Some("documentation or benchmarking")
    } else {
        None
    };
    match class {
        Some(class) => Err(refuse("address_not_public", format!("{class} addresses are refused"))),
        None => Ok(()),
    }
}

fn check_v6(ip: Ipv6Addr) -> Result<(), Refusal> {
    let seg = ip.segments();
    let class = if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() {
        Some("unspecified")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if (seg[0] & 0xffc0) == 0xfe80 || (seg[0] & 0xffc0) == 0xfec0 {
        Some("link-local")
    } else if (seg[0] & 0xfe00) == 0xfc00 {
        Some("unique-local")
    } else if seg[0] == 0x2001 && seg[1] == 0x0db8 {
        Some("documentation")
    } else if (seg[0] & 0xe000) != 0x2000 {
        // Outside 2000::/3, the only global unicast space allocated.
        Some("reserved")
    } else {
        None
    };
    match class {
        Some(class) => Err(refuse("address_not_public", format!("{class} addresses are refused"))),
        None => Ok(()),
    }
}

/// IPv4 inside IPv6: mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let seg = ip.segments();
    let tail = Ipv4Addr::new((seg[6] >> 8) as u8, seg[6] as u8, (seg[7] >> 8) as u8, seg[7] as u8);
    if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || (seg[..6] == [0; 6] && !ip.is_loopback() && !ip.is_unspecified()) {
        return Some(tail);
    }
    None
}

/// The `Petty-Signature` header: `t=<unix s>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`.
pub fn signature(secret: &str, unix_s: i64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(format!("{unix_s}.").as_bytes());
    ctx.update(body);
    let tag = ctx.sign();
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("t={unix_s},v1={hex}")
}

/// What a receiver does (the README's snippet, in Rust): the signature matches in constant
/// time and `t` is within `tolerance_s` of `now_s`.
pub fn verify_signature(secret: &str, header: &str, body: &[u8], now_s: i64, tolerance_s: i64) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1 = Some(v.to_owned()),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else { return false };
    if (now_s - t).abs() > tolerance_s || v1.len() != 64 {
        return false;
    }
    let Some(tag) = (0..32).map(|i| u8::from_str_radix(&v1[2 * i..2 * i + 2], 16).ok()).collect::<Option<Vec<u8>>>()
    else {
        return false;
    };
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut msg = format!("{t}.").into_bytes();
    msg.extend_from_slice(body);
    hmac::verify(&key, &msg, &tag).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployed() -> WebhookPolicy {
        WebhookPolicy::default()
    }

    #[test]
    fn refuses_every_non_public_class_as_a_literal_host() {
        for url in [
            "https://127.0.0.1/x",
            "https://10.1.2.3/",
            "https://172.16.0.1/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest/meta-data/",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://224.0.0.1/",
            "https://255.255.255.255/",
            "https://[::1]/",
            "https://[fe80::1]/",
            "https://[fd00::1]/",
            "https://[ff02::1]/",
            "https://[::ffff:10.0.0.1]/",
            "https://[::ffff:169.254.169.254]/",
            "https://[64:ff9b::a9fe:a9fe]/",
            "https://2130706433/",
        ] {
            let err = deployed().check_url(url).unwrap_err();
            assert_eq!(err.code, "address_not_public", "{url}: {err:?}");
        }
    }

    #[test]
    fn scheme_port_and_credentials_rules() {
        let p = deployed();
        assert_eq!(p.check_url("http://example.com/").unwrap_err().code, "scheme_not_allowed");
        assert_eq!(p.check_url("http://127.0.0.1:9010/").unwrap_err().code, "scheme_not_allowed");
        assert_eq!(p.check_url("https://example.com:8443/").unwrap_err().code, "port_not_allowed");
        assert_eq!(p.check_url("https://u:p@example.com/").unwrap_err().code, "credentials_in_url");
        assert_eq!(p.check_url("ftp://example.com/").unwrap_err().code, "scheme_not_allowed");
        let ok = p.check_url("https://Hooks.Example.com/petty?x=1").unwrap();
        assert_eq!(
            (ok.host.as_str(), ok.port, ok.path.as_str(), ok.https),
            ("hooks.example.com", 443, "/petty?x=1", true)
        );
        let ported = WebhookPolicy { allowed_ports: vec![443, 8443], allow_loopback: false };
        assert_eq!(ported.check_url("https://example.com:8443/").unwrap().port, 8443);
        let local = WebhookPolicy { allow_loopback: true, ..deployed() };
        let t = local.check_url("http://127.0.0.1:9010/petty").unwrap();
        assert!(t.loopback && !t.https && t.port == 9010);
        // The exception is 127.0.0.1 over http only; other private addresses stay refused.
        assert_eq!(local.check_url("http://10.0.0.1:80/").unwrap_err().code, "scheme_not_allowed");
        assert_eq!(local.check_url("https://192.168.0.1/").unwrap_err().code, "address_not_public");
    }

    #[test]
    fn a_name_resolving_to_any_private_address_is_refused() {
        let p = deployed();
        let t = p.check_url("https://rebind.example.com/").unwrap();
        let public: SocketAddr = "93.184.216.34:443".parse().unwrap();
        let private: SocketAddr = "10.0.0.5:443".parse().unwrap();
        let metadata: SocketAddr = "[::ffff:169.254.169.254]:443".parse().unwrap();
        assert_eq!(p.check_resolved(&t, &[public]).unwrap(), public);
        assert_eq!(p.check_resolved(&t, &[public, private]).unwrap_err().code, "address_not_public");
        assert_eq!(p.check_resolved(&t, &[metadata]).unwrap_err().code, "address_not_public");
        assert_eq!(p.check_resolved(&t, &[]).unwrap_err().code, "dns_no_address");
        assert!(check_ip("2606:4700::1111".parse().unwrap()).is_ok());
    }

    #[tokio::test]
    async fn a_name_is_checked_after_resolution() {
        let p = deployed();
        let t = p.check_url("https://localhost/").unwrap();
        assert_eq!(p.resolve(&t).await.unwrap_err().code, "address_not_public");
        let local = WebhookPolicy { allow_loopback: true, ..deployed() };
        // The loopback exception is for the literal 127.0.0.1 over http, not for names.
        let t = local.check_url("https://localhost:9010/").unwrap_err();
        assert_eq!(t.code, "port_not_allowed");
    }

    #[test]
    fn signatures_verify_and_reject_tampering_and_replays() {
        let body = br#"{"id":"x"}"#;
        let header = signature("whsec_k", 1_700_000_000, body);
        assert!(header.starts_with("t=1700000000,v1="));
        assert!(verify_signature("whsec_k", &header, body, 1_700_000_100, 300));
        assert!(!verify_signature("whsec_k", &header, br#"{"id":"y"}"#, 1_700_000_100, 300));
        assert!(!verify_signature("whsec_other", &header, body, 1_700_000_100, 300));
        assert!(!verify_signature("whsec_k", &header, body, 1_700_000_301, 300), "older than 5 minutes");
        assert!(!verify_signature("whsec_k", "t=1700000000", body, 1_700_000_000, 300));
    }
}
