//! What the integration tests share: a local HTTP server that answers as told and records
//! what it was sent, the API's error body, and a client configuration with fast retries.

#![allow(dead_code)] // each test file uses a part

use std::sync::{Arc, Mutex};
use std::time::Duration;

use petty_client::{BreakerSettings, Config, RetryPolicy};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// What the server does with the n-th request (0-based).
pub enum Reply {
    Json(u16, serde_json::Value),
    WithHeader(u16, &'static str, &'static str, serde_json::Value),
    /// Closes the connection without answering.
    Drop,
    /// Answers only after this long.
    Hang(Duration),
    /// No body (a 204).
    Empty(u16),
}

pub type Handler = dyn Fn(usize, &Seen) -> Reply + Send + Sync;

/// A one-request-per-connection HTTP/1.1 server on 127.0.0.1 (stops with the test runtime).
pub struct Server {
    pub url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    pub async fn start(handler: impl Fn(usize, &Seen) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let handler: Arc<Handler> = Arc::new(handler);
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let (log, handler) = (log.clone(), handler.clone());
                tokio::spawn(async move {
                    let Some(req) = read_request(&mut conn).await else { return };
                    let n = {
                        let mut log = log.lock().unwrap();
                        log.push(req.clone());
                        log.len() - 1
                    };
                    let (status, header, body) = match handler(n, &req) {
                        Reply::Drop => return,
                        Reply::Hang(d) => {
                            tokio::time::sleep(d).await;
                            (200, None, json!({}))
                        }
                        Reply::Json(s, b) => (s, None, b),
                        Reply::WithHeader(s, name, value, b) => (s, Some((name, value)), b),
                        Reply::Empty(s) => (s, None, serde_json::Value::Null),
                    };
                    let body = if body.is_null() { String::new() } else { body.to_string() };
                    let extra = header.map(|(n, v)| format!("{n}: {v}\r\n")).unwrap_or_default();
                    let head = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{extra}connection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = conn.write_all(head.as_bytes()).await;
                    let _ = conn.write_all(body.as_bytes()).await;
                    let _ = conn.shutdown().await;
                });
            }
        });
        Self { url, seen }
    }

    pub fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn read_request(conn: &mut tokio::net::TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, path) = (first.next()?.to_owned(), first.next()?.to_owned());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers.iter().find(|(n, _)| n == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    while buf.len() < head_end + len {
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..]).to_string();
    Some(Seen { method, path, headers, body })
}

pub fn error(code: &str) -> serde_json::Value {
    json!({"error": {"code": code, "message": format!("{code} on purpose")}, "request_id": "r-1"})
}

/// Fast retries, a short timeout, no breaker unless a test sets one.
pub fn config(url: &str) -> Config {
    Config {
        timeout: Duration::from_secs(5),
        retry: RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            max_retry_after: Duration::from_secs(5),
        },
        breaker: BreakerSettings { failure_threshold: 100, cool_down: Duration::from_secs(60) },
        ..Config::new(url)
    }
}

/// A client signed in as the owner (access token `owner`) against `server`.
pub fn owner(server: &Server) -> petty_client::Client {
    let client = petty_client::Client::new(config(&server.url)).unwrap();
    client.set_credentials(petty_client::Credentials::Tokens(petty_client::types::TokenPair {
        access_token: "owner".into(),
        refresh_token: "r".into(),
        token_type: "Bearer".into(),
        expires_in: 900,
    }));
    client
}
