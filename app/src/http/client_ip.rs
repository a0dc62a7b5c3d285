//! The client's address, from the platform's trusted source only — never from a header a
//! client can set:
//!
//! - `phase1 serve`: the TCP peer of the connection;
//! - Vercel: `x-vercel-forwarded-for`, which Vercel's edge sets (and overwrites);
//! - AWS Lambda: the API Gateway request context's `sourceIp`, put into the request as a
//!   [`ClientIp`] extension by the Lambda glue.
//!
//! IPv4-mapped IPv6 addresses are reported as IPv4, so limits and allowlists see one form.

use axum::extract::{ConnectInfo, Request};
use std::net::{IpAddr, SocketAddr};

/// Where the client address comes from on this deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientIpSource {
    /// The connection's peer (`phase1 serve`).
    Socket,
    /// Vercel's `x-vercel-forwarded-for`.
    Vercel,
    /// A [`ClientIp`] extension set by the platform glue (Lambda).
    Platform,
}

/// A request's client address, as an extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// The client address of `req`, if its source provides one.
pub fn resolve(source: ClientIpSource, req: &Request) -> Option<IpAddr> {
    let ip = match source {
        ClientIpSource::Socket => req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip()),
        ClientIpSource::Vercel => req
            .headers()
            .get("x-vercel-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse::<IpAddr>().ok()),
        ClientIpSource::Platform => req.extensions().get::<ClientIp>().map(|c| c.0),
    };
    ip.map(|i| i.to_canonical())
}

/// The key a client is rate-limited and blocked under: an IPv4 address as it is, an IPv6
/// address as its /64 network (`2001:db8:1:2::/64`). A /64 is the smallest block a network
/// hands a client (SLAAC needs it), so every address in it is one client's: keyed apart,
/// a client would get 2^64 fresh budgets and could never be blocked.
pub fn limit_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            ipnet::Ipv6Net::new(v6, 64).map_or_else(|_| v6.to_string(), |n| n.trunc().to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn request(headers: &[(&str, &str)]) -> Request {
        let mut b = axum::http::Request::builder().uri("/api/phase1/version");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::empty()).expect("request")
    }

    /// M2 of the 2026-12-03 audit: four addresses of one /64 each got a fresh budget.
    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        let key = |s: &str| limit_key(s.parse().expect("ip"));
        for ip in [
            "2001:db8:1:2::1",
            "2001:db8:1:2::2",
            "2001:db8:1:2::3",
            "2001:db8:1:2:ffff:ffff:ffff:ffff",
        ] {
            assert_eq!(key(ip), "2001:db8:1:2::/64", "{ip}");
        }
        assert_eq!(key("2001:db8:1:3::1"), "2001:db8:1:3::/64");
        assert_eq!(key("203.0.113.9"), "203.0.113.9");
        assert_eq!(key("::ffff:203.0.113.9"), "203.0.113.9");
        assert_eq!(key("::1"), "::/64");
    }

    #[test]
    fn each_source_reads_only_its_own_place() {
        let mut req = request(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-real-ip", "6.6.6.6"),
            ("x-vercel-forwarded-for", "203.0.113.9, 10.0.0.1"),
        ]);
        assert_eq!(resolve(ClientIpSource::Socket, &req), None);
        req.extensions_mut().insert(ConnectInfo(SocketAddr::from((
            [0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201],
            4000,
        ))));
        assert_eq!(
            resolve(ClientIpSource::Socket, &req),
            Some("192.0.2.1".parse().expect("ip")),
            "IPv4-mapped addresses become IPv4"
        );
        assert_eq!(
            resolve(ClientIpSource::Vercel, &req),
            Some("203.0.113.9".parse().expect("ip"))
        );
        assert_eq!(resolve(ClientIpSource::Platform, &req), None);
        req.extensions_mut()
            .insert(ClientIp("198.51.100.4".parse().expect("ip")));
        assert_eq!(
            resolve(ClientIpSource::Platform, &req),
            Some("198.51.100.4".parse().expect("ip"))
        );
        let spoofed = request(&[("x-vercel-forwarded-for", "not-an-ip")]);
        assert_eq!(resolve(ClientIpSource::Vercel, &spoofed), None);
    }
}
