//! What the auth function sends out of band: account e-mail (SES), jobs (SQS: erasures and
//! exports) and presigned links to finished exports (S3). A trait, so the rules run over a
//! recording double in unit tests.

use std::future::Future;
use std::time::Duration;

use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use petty_shared::http::ApiError;

/// How long a presigned export link works.
pub const EXPORT_LINK_TTL: Duration = Duration::from_secs(15 * 60);

/// The queues of the account jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobQueue {
    Erasure,
    Export,
}

/// Mail, jobs and links.
pub trait Outbox: Send + Sync {
    /// Sends a plain-text e-mail to one address.
    fn send_email(&self, to: &str, subject: &str, text: &str) -> impl Future<Output = Result<(), ApiError>> + Send;
    /// Queues a job message.
    fn enqueue(&self, queue: JobQueue, body: &serde_json::Value) -> impl Future<Output = Result<(), ApiError>> + Send;
    /// A GET link to an object of the exports bucket, valid for [`EXPORT_LINK_TTL`].
    fn presign(&self, key: &str) -> impl Future<Output = Result<String, ApiError>> + Send;
}

/// The AWS adapters.
#[derive(Clone, Debug)]
pub struct AwsOutbox {
    pub ses: aws_sdk_sesv2::Client,
    pub sender: String,
    pub sqs: aws_sdk_sqs::Client,
    pub erasure_queue_url: String,
    pub export_queue_url: String,
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
}

fn unavailable(what: &str, e: impl std::fmt::Debug) -> ApiError {
    tracing::error!(error = ?e, "{what} failed");
    ApiError::Unavailable { message: format!("{what} is unavailable; try again"), retry_after_s: Some(1) }
}

impl Outbox for AwsOutbox {
    async fn send_email(&self, to: &str, subject: &str, text: &str) -> Result<(), ApiError> {
        let content = |data: &str| Content::builder().data(data).charset("UTF-8").build().expect("data is set");
        let message =
            Message::builder().subject(content(subject)).body(Body::builder().text(content(text)).build()).build();
        self.ses
            .send_email()
            .from_email_address(&self.sender)
            .destination(Destination::builder().to_addresses(to).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|e| unavailable("e-mail", petty_shared::sdk_error::error_summary(&e)))?;
        Ok(())
    }

    async fn enqueue(&self, queue: JobQueue, body: &serde_json::Value) -> Result<(), ApiError> {
        let sent = match queue {
            JobQueue::Erasure => {
                self.sqs.send_message().queue_url(&self.erasure_queue_url).message_body(body.to_string()).send().await
            }
            JobQueue::Export => {
                self.sqs.send_message().queue_url(&self.export_queue_url).message_body(body.to_string()).send().await
            }
        };
        sent.map_err(|e| unavailable("the job queue", petty_shared::sdk_error::error_summary(&e)))?;
        Ok(())
    }

    async fn presign(&self, key: &str) -> Result<String, ApiError> {
        let config = aws_sdk_s3::presigning::PresigningConfig::expires_in(EXPORT_LINK_TTL)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let signed = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|e| unavailable("the export link", petty_shared::sdk_error::error_summary(&e)))?;
        Ok(signed.uri().to_owned())
    }
}
