//! The webhook sender: resolves the host, checks every address it resolved to
//! (`petty_shared::webhook`), connects to that checked address (so a second lookup cannot
//! rebind it), speaks one HTTP/1.1 POST over TLS (or plain HTTP on the local loopback
//! exception), never follows a redirect, and reads at most [`MAX_ANSWER_BYTES`] of the answer.
//!
//! Trust roots: the platform store, loaded once on the first HTTPS delivery (webhook hosts
//! are the owners', not AWS's, so compiled-in AWS roots would not do).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use petty_shared::webhook::{Refusal, WebhookPolicy};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore, pki_types::ServerName};

/// The most of a receiver's answer read (the rest is dropped with the connection).
pub const MAX_ANSWER_BYTES: usize = 16 * 1024;
/// The most a delivery body may weigh.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Why no status came back.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The address is not one Petty sends to (not retried).
    #[error("{}: {}", .0.code, .0.message)]
    Refused(Refusal),
    #[error("timeout")]
    Timeout,
    #[error("connect_failed")]
    Connect,
    #[error("tls_failed")]
    Tls,
    #[error("http_error")]
    Protocol,
}

/// Sends signed webhook bodies.
pub struct WebhookClient {
    policy: WebhookPolicy,
    timeout: Duration,
    tls: OnceLock<Arc<ClientConfig>>,
}

impl WebhookClient {
    pub fn new(policy: WebhookPolicy, timeout: Duration) -> Self {
        Self { policy, timeout, tls: OnceLock::new() }
    }

    pub fn policy(&self) -> &WebhookPolicy {
        &self.policy
    }

    fn tls(&self) -> Arc<ClientConfig> {
        self.tls
            .get_or_init(|| {
                let mut roots = RootCertStore::empty();
                roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
                let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
                let config = ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .expect("aws-lc-rs supports the default TLS versions")
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                Arc::new(config)
            })
            .clone()
    }

    /// POSTs `body` to `url` with `headers`; the status code, or why there is none.
    pub async fn post(&self, url: &str, headers: &[(&str, String)], body: Vec<u8>) -> Result<u16, SendError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(SendError::Refused(Refusal {
                code: "body_too_large",
                message: format!("a delivery body is at most {MAX_BODY_BYTES} bytes"),
            }));
        }
        let target = self.policy.check_url(url).map_err(SendError::Refused)?;
        match tokio::time::timeout(self.timeout, self.exchange(&target, headers, body)).await {
            Ok(result) => result,
            Err(_) => Err(SendError::Timeout),
        }
    }

    async fn exchange(
        &self,
        target: &petty_shared::webhook::Target,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<u16, SendError> {
        let addr = self.policy.resolve(target).await.map_err(SendError::Refused)?;
        let tcp = TcpStream::connect(addr).await.map_err(|_| SendError::Connect)?;
        let host_header = if target.port == if target.https { 443 } else { 80 } {
            target.host.clone()
        } else {
            format!("{}:{}", target.host, target.port)
        };
        let mut req = hyper::Request::post(target.path.as_str()).header(hyper::header::HOST, host_header);
        for (name, value) in headers {
            req = req.header(*name, value.as_str());
        }
        let req = req.body(Full::new(Bytes::from(body))).map_err(|_| SendError::Protocol)?;
        if target.https {
            let name = ServerName::try_from(target.host.trim_start_matches('[').trim_end_matches(']').to_owned())
                .map_err(|_| SendError::Tls)?;
            let tls = TlsConnector::from(self.tls()).connect(name, tcp).await.map_err(|_| SendError::Tls)?;
            send(TokioIo::new(tls), req).await
        } else {
            send(TokioIo::new(tcp), req).await
        }
    }
}

async fn send<I>(io: I, req: hyper::Request<Full<Bytes>>) -> Result<u16, SendError>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.map_err(|_| SendError::Protocol)?;
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    let answer = sender.send_request(req).await;
    let result = match answer {
        Ok(resp) => {
            let status = resp.status().as_u16();
            // Read a bounded answer; a larger one is cut off, not buffered.
            let _ = Limited::new(resp.into_body(), MAX_ANSWER_BYTES).collect().await;
            Ok(status)
        }
        Err(_) => Err(SendError::Protocol),
    };
    driver.abort();
    result
}
