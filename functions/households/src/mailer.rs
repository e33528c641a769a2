//! Invitations go out by e-mail: a trait, so tests can read what was sent, and the SES adapter.

use std::future::Future;

use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use petty_shared::http::ApiError;

/// Sends one plain-text e-mail.
pub trait Mailer: Send + Sync {
    fn send_email(&self, to: &str, subject: &str, text: &str) -> impl Future<Output = Result<(), ApiError>> + Send;
}

/// SES v2 `SendEmail` from one verified sender.
#[derive(Clone, Debug)]
pub struct SesMailer {
    pub ses: aws_sdk_sesv2::Client,
    pub sender: String,
}

impl Mailer for SesMailer {
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
            .map_err(|e| {
                tracing::error!(error = %petty_shared::sdk_error::error_summary(&e), "invitation e-mail failed");
                ApiError::Unavailable { message: "e-mail is unavailable; try again".into(), retry_after_s: Some(1) }
            })?;
        Ok(())
    }
}
