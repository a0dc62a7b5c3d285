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
