//! `allowed_outbound_hosts`: the deny-by-default outbound allow-list of a Spin component.
//!
//! Spin's rule (manifest v2): each entry is `scheme://host[:port]`; `*` stands for any
//! scheme, any host, or any port, and `*.example.com` for any subdomain. Without a port,
//! the scheme's default port is meant. A request the list does not allow is refused
//! before any connection is made (the guest sees `HTTP-request-denied`).

use crate::error::EdgeError;

/// One compiled `allowed_outbound_hosts` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    /// `None`: any scheme.
    scheme: Option<String>,
    host: HostPattern,
    /// `None`: any port.
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Any,
    Exact(String),
    /// `*.suffix`: any subdomain of `suffix` (not `suffix` itself).
    Subdomain(String),
}

/// The compiled allow-list of one component.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    patterns: Vec<Pattern>,
}

/// The default port of `scheme`, if it has one.
fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

impl AllowList {
    /// Compiles the entries of `allowed_outbound_hosts`.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, EdgeError> {
        let patterns = entries
            .iter()
            .map(|e| Self::pattern(e.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(AllowList { patterns })
    }

    fn pattern(entry: &str) -> Result<Pattern, EdgeError> {
        let bad = || EdgeError::BadAllowedHost(entry.to_string());
        let (scheme, rest) = entry.split_once("://").ok_or_else(bad)?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if scheme.is_empty() || rest.is_empty() || rest.contains('/') {
            return Err(bad());
        }
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (h, tail) = v6.split_once(']').ok_or_else(bad)?;
            match tail {
                "" => (h, None),
                t => (h, Some(t.strip_prefix(':').ok_or_else(bad)?)),
            }
        } else {
            match rest.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (rest, None),
            }
        };
        let scheme = (scheme != "*").then(|| scheme.to_ascii_lowercase());
        let port = match port {
            Some("*") => None,
            Some(p) => Some(p.parse::<u16>().map_err(|_| bad())?),
            None => Some(scheme.as_deref().and_then(default_port).ok_or_else(bad)?),
        };
        let host = match host {
            "*" => HostPattern::Any,
            h if h.starts_with("*.") && h.len() > 2 => {
                HostPattern::Subdomain(h[2..].to_ascii_lowercase())
            }
            h if h.is_empty() || h.contains('*') => return Err(bad()),
            h => HostPattern::Exact(h.to_ascii_lowercase()),
        };
        Ok(Pattern { scheme, host, port })
    }

    /// True when a request to `scheme://host:port` is allowed (`port` `None` means the
    /// scheme's default port).
    pub fn permits(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        let scheme = scheme.to_ascii_lowercase();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let host = host.to_ascii_lowercase();
        let Some(port) = port.or_else(|| default_port(&scheme)) else {
            return false;
        };
        self.patterns.iter().any(|p| {
            p.scheme.as_ref().is_none_or(|s| *s == scheme)
                && p.port.is_none_or(|q| q == port)
                && match &p.host {
                    HostPattern::Any => true,
                    HostPattern::Exact(h) => *h == host,
                    HostPattern::Subdomain(s) => host
                        .strip_suffix(s.as_str())
                        .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
                }
        })
    }

    /// Adds the entries of `other` (command-line additions).
    pub fn extend(&mut self, other: AllowList) {
        self.patterns.extend(other.patterns);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(e: &[&str]) -> AllowList {
        AllowList::parse(e).expect("valid list")
    }

    #[test]
    fn exact_origin_only() {
        let l = list(&["http://127.0.0.1:8082"]);
        assert!(l.permits("http", "127.0.0.1", Some(8082)));
        assert!(!l.permits("http", "127.0.0.1", Some(8081)), "another port");
        assert!(
            !l.permits("https", "127.0.0.1", Some(8082)),
            "another scheme"
        );
        assert!(!l.permits("http", "127.0.0.2", Some(8082)), "another host");
        assert!(!l.permits("http", "127.0.0.1", None), "default port 80");
    }

    #[test]
    fn default_ports_and_wildcards() {
        let l = list(&[
            "https://cdn.example.com",
            "http://*.example.org:*",
            "*://*:9000",
        ]);
        assert!(l.permits("https", "cdn.example.com", None));
        assert!(l.permits("https", "CDN.example.com", Some(443)));
        assert!(!l.permits("https", "cdn.example.com", Some(8443)));
        assert!(l.permits("http", "a.example.org", Some(1234)));
        assert!(l.permits("http", "b.a.example.org", None));
        assert!(!l.permits("http", "example.org", Some(80)), "not the apex");
        assert!(!l.permits("http", "badexample.org", Some(80)));
        assert!(l.permits("http", "anything", Some(9000)));
        assert!(list(&["http://[::1]:8082"]).permits("http", "[::1]", Some(8082)));
        assert!(l.permits("https", "anything", Some(9000)));
    }

    #[test]
    fn empty_list_denies_everything() {
        assert!(!AllowList::default().permits("http", "127.0.0.1", Some(8082)));
    }

    #[test]
    fn malformed_entries_are_refused() {
        for bad in [
            "127.0.0.1:8082",
            "http://",
            "http://host:port",
            "http://a/b",
            "ftp://host",
            "http://ho*st:80",
        ] {
            assert!(AllowList::parse(&[bad]).is_err(), "{bad} accepted");
        }
    }
}
