//! Stand-in HTTP peers on loopback: a shard deployment that answers every request with
//! HTTP 500, and a webhook receiver that fails its first requests on purpose. Both record
//! what they received, to observe the app's retries.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request as received: its path, headers (names lower-cased) and body.
#[derive(Debug, Clone)]
pub struct Received {
    /// The request target.
    pub path: String,
    /// Header names (lower case) and values.
    pub headers: BTreeMap<String, String>,
    /// The body.
    pub body: Vec<u8>,
    /// The status it was answered with.
    pub status: u16,
}

/// A loopback HTTP server that answers 500 to its first `fail_first` requests and 200 to the
/// rest; stopped when dropped.
pub struct Upstream {
    /// Its port on 127.0.0.1.
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    stop: Arc<AtomicBool>,
}

/// The shard stand-in: every request fails.
pub type FailingUpstream = Upstream;

impl Upstream {
    /// A server that fails every request.
    pub fn start() -> Upstream {
        Upstream::failing_first(usize::MAX)
    }

    /// A server that fails its first `n` requests, then answers 200.
    pub fn failing_first(n: usize) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback listener");
        let port = listener.local_addr().expect("its address").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log, stopped) = (received.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(conn) = conn {
                    let log = log.clone();
                    std::thread::spawn(move || answer(conn, &log, n));
                }
            }
        });
        Upstream {
            port,
            received,
            stop,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// How many requests it has answered.
    pub fn requests(&self) -> usize {
        self.received.lock().expect("lock").len()
    }

    /// Every request answered so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Reads one request (headers and a Content-Length body), records it and answers 500 while
/// fewer than `fail_first` requests were answered, else 200.
fn answer(conn: TcpStream, log: &Mutex<Vec<Received>>, fail_first: usize) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(conn);
    let mut request_line = String::new();
    if matches!(reader.read_line(&mut request_line), Ok(0) | Err(_)) {
        return;
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    let length = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0usize);
    let mut body = vec![0u8; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let status = {
        let mut log = log.lock().expect("lock");
        let status = if log.len() < fail_first { 500 } else { 200 };
        log.push(Received {
            path,
            headers,
            body,
            status,
        });
        status
    };
    let reply: &[u8] = if status == 500 {
        b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    } else {
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
    };
    let mut conn = reader.into_inner();
    let _ = conn.write_all(reply);
}
