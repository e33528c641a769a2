//! A webhook receiver for the notification tests: a loopback HTTP/1.1 listener that records
//! every request and answers from a script (a status, a stall, a redirect), 200 when the
//! script is empty. It stands in for an owner's server, not for an AWS service.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// How the next request is answered.
#[derive(Clone, Debug)]
pub enum Answer {
    Status(u16),
    /// Answer 200 only after this long (longer than the notifier's timeout: a timeout).
    Stall(Duration),
    /// 302 to this location.
    Redirect(String),
}

/// One request received.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    /// Lower-case names.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON delivery")
    }
}

/// The running receiver; it stops with the test's runtime.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<Answer>>>,
}

impl Receiver {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://127.0.0.1:{}/petty", listener.local_addr().unwrap().port());
        let me = Self { url, received: Arc::default(), script: Arc::default() };
        let (received, script) = (Arc::clone(&me.received), Arc::clone(&me.script));
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (received, script) = (Arc::clone(&received), Arc::clone(&script));
                tokio::spawn(async move {
                    let Some(req) = read_request(&mut socket).await else { return };
                    received.lock().unwrap().push(req);
                    let answer = script.lock().unwrap().pop_front().unwrap_or(Answer::Status(200));
                    let (status, extra) = match answer {
                        Answer::Status(s) => (s, String::new()),
                        Answer::Stall(d) => {
                            tokio::time::sleep(d).await;
                            (200, String::new())
                        }
                        Answer::Redirect(to) => (302, format!("location: {to}\r\n")),
                    };
                    let head =
                        format!("HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n{extra}\r\nok");
                    let _ = socket.write_all(head.as_bytes()).await;
                });
            }
        });
        me
    }

    /// Queues answers for the next requests.
    pub fn answer(&self, answers: &[Answer]) {
        self.script.lock().unwrap().extend(answers.iter().cloned());
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<Received> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let path = lines.next()?.split(' ').nth(1)?.to_owned();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Received { path, headers, body })
}
