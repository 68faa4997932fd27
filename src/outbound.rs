//! The one outbound-URL policy: which URLs the server may fetch on someone's word (a
//! browser's push endpoint, a host platform's JWKS), matched on the parsed URL,
//! never on the string. Every outbound HTTP client resolves names through
//! `infra::outbound` (`GuardedResolver`), which refuses private, loopback and
//! link-local addresses for any name not listed exactly.
//!
//! An allow-list entry is a URL: its scheme, host and port (the scheme's default
//! when none is written) must be the candidate's, and its path a prefix of the
//! candidate's path by whole segments. A host written `*.example.com` matches any
//! name under `example.com` (not `example.com` itself). A candidate with a user or
//! password, an encoded `/`, `\` or `.` in its path, or an IP literal that no entry
//! names exactly, is refused; `..` and backslashes are resolved by the parser before
//! matching, so they never climb out of a listed path.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// URLs the server may fetch, from one configuration variable.
#[derive(Debug, Clone, Default)]
pub struct AllowList {
    entries: Vec<Entry>,
}

#[derive(Debug, Clone)]
struct Entry {
    scheme: String,
    host: HostPattern,
    port: u16,
    /// Whole path segments the candidate's path must start with.
    path: Vec<String>,
}

#[derive(Debug, Clone)]
enum HostPattern {
    Exact(Host<String>),
    /// `*.example.com`, kept as `.example.com`.
    Under(String),
}

impl AllowList {
    /// Parses the entries of one variable; the error says which entry is wrong.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        entries
            .iter()
            .map(|e| Entry::parse(e).ok_or_else(|| format!("{e:?} is not an http(s) URL to allow")))
            .collect::<Result<_, _>>()
            .map(|entries| Self { entries })
    }

    /// The candidate, parsed, when an entry allows it; else why not.
    pub fn check(&self, candidate: &str) -> Result<Url, &'static str> {
        let url = Url::parse(candidate).map_err(|_| "is not a URL")?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("must be an http(s) URL");
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not carry a user or password");
        }
        let lower = url.path().to_ascii_lowercase();
        if ["%2f", "%5c", "%2e"].iter().any(|e| lower.contains(e)) {
            return Err("must not encode '/', '\\' or '.' in its path");
        }
        let (Some(host), Some(port)) = (url.host(), url.port_or_known_default()) else {
            return Err("must name a host");
        };
        let host = host.to_owned();
        let segments: Vec<&str> = url
            .path_segments()
            .map(Iterator::collect)
            .unwrap_or_default();
        if self.entries.iter().any(|e| {
            e.scheme == url.scheme()
                && e.port == port
                && e.host.matches(&host)
                && segments.len() >= e.path.len()
                && e.path.iter().zip(&segments).all(|(a, b)| a == b)
        }) {
            Ok(url)
        } else {
            Err("is not allowed by this server's configuration")
        }
    }

    /// Names listed exactly: the only names that may resolve to a private address.
    pub fn exact_names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().filter_map(|e| match &e.host {
            HostPattern::Exact(Host::Domain(d)) => Some(d.as_str()),
            _ => None,
        })
    }
}

impl Entry {
    fn parse(text: &str) -> Option<Self> {
        let (scheme, rest) = text.split_once("://")?;
        let (wildcard, rest) = match rest.strip_prefix("*.") {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let url = Url::parse(&format!("{scheme}://{rest}")).ok()?;
        if !matches!(url.scheme(), "http" | "https")
            || !url.username().is_empty()
            || url.password().is_some()
        {
            return None;
        }
        let host = url.host()?.to_owned();
        let host = match (wildcard, host) {
            (true, Host::Domain(d)) => HostPattern::Under(format!(".{d}")),
            (true, _) => return None,
            (false, h) => HostPattern::Exact(h),
        };
        let mut path: Vec<String> = url.path_segments()?.map(str::to_string).collect();
        if path.last().is_some_and(String::is_empty) {
            path.pop();
        }
        Some(Self {
            scheme: url.scheme().to_string(),
            host,
            port: url.port_or_known_default()?,
            path,
        })
    }
}

impl HostPattern {
    fn matches(&self, host: &Host<String>) -> bool {
        match (self, host) {
            (Self::Exact(e), h) => e == h,
            (Self::Under(suffix), Host::Domain(d)) => d.len() > suffix.len() && d.ends_with(suffix),
            (Self::Under(_), _) => false,
        }
    }
}

/// Whether an address is reachable on the public internet (not loopback, private,
/// link-local, shared, documentation, multicast or reserved).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => public_v4(v4),
            None => public_v6(v6),
        },
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (18..20).contains(&b))
        || a >= 240)
}

fn public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] == 0x2001 && s[1] == 0x0db8)
        || (s[0] == 0x64 && s[1] == 0xff9b)
        || (s[0] == 0x2002))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> AllowList {
        AllowList::parse(&entries.iter().map(|e| e.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn entries_match_on_the_parsed_url() {
        let l = list(&[
            "https://*.notify.windows.com/",
            "http://127.0.0.1:4000/jwks/",
        ]);
        assert!(
            l.check("https://wns2-par02p.notify.windows.com/w/?token=x")
                .is_ok()
        );
        for bad in [
            "https://wns2-x@127.0.0.1:40517/internal",
            "https://notify.windows.com/w",
            "https://evil.com/.notify.windows.com/",
            "https://a.notify.windows.com:8443/w",
            "http://a.notify.windows.com/w",
            "http://127.0.0.1:4000/jwks/../internal",
            "http://127.0.0.1:4000/jwks/%2e%2e/internal",
            "http://127.0.0.1:4000/jwks/..%2finternal",
            "http://127.0.0.1:4000/jwks\\..\\internal",
            "http://127.0.0.1:4000/jwksx",
            "http://127.0.0.1:4001/jwks/keys",
            "http://[::1]:4000/jwks/keys",
            "http://127.0.0.1:4000@localhost:40517/jwks/x",
        ] {
            assert!(l.check(bad).is_err(), "{bad} is refused");
        }
        assert!(l.check("http://127.0.0.1:4000/jwks/keys.json").is_ok());
        assert!(
            list(&["http://127.0.0.1:4000"])
                .check("http://127.0.0.1:4000@localhost:40517/x")
                .is_err()
        );
    }

    #[test]
    fn private_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "169.254.169.254",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "0.0.0.0",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        assert!(is_public("8.8.8.8".parse().unwrap()));
        assert!(is_public("2606:4700::1111".parse().unwrap()));
    }
}
