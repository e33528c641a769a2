//! A collar's AWS IoT identity: its thing (named by its serial), an active certificate with
//! its keys, the stack's collar policy attached to the certificate, and the certificate
//! attached to the thing. The private key is handed back once and never stored.

use std::future::Future;

use petty_shared::api::IotIdentity;

/// Creating device identities.
pub trait DeviceRegistry: Send + Sync {
    /// The thing, certificate and keys of `thing_name`, or why not (a message without secrets).
    fn create_identity(&self, thing_name: &str) -> impl Future<Output = Result<IotIdentity, String>> + Send;
}

/// [`DeviceRegistry`] over AWS IoT Core.
#[derive(Clone, Debug)]
pub struct IotCore {
    client: aws_sdk_iot::Client,
    policy_name: String,
}

impl IotCore {
    /// Over `client`, attaching `policy_name` to every certificate.
    pub fn new(client: aws_sdk_iot::Client, policy_name: impl Into<String>) -> Self {
        Self { client, policy_name: policy_name.into() }
    }
}

fn summary<E, R>(step: &str, err: &aws_sdk_iot::error::SdkError<E, R>) -> String
where
    E: aws_sdk_iot::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    format!("{step}: {}", petty_shared::sdk_error::error_summary(err))
}

impl DeviceRegistry for IotCore {
    async fn create_identity(&self, thing_name: &str) -> Result<IotIdentity, String> {
        self.client.create_thing().thing_name(thing_name).send().await.map_err(|e| summary("CreateThing", &e))?;
        let cert = self
            .client
            .create_keys_and_certificate()
            .set_as_active(true)
            .send()
            .await
            .map_err(|e| summary("CreateKeysAndCertificate", &e))?;
        let arn = cert.certificate_arn.clone().ok_or("CreateKeysAndCertificate: no certificate ARN")?;
        self.client
            .attach_policy()
            .policy_name(&self.policy_name)
            .target(&arn)
            .send()
            .await
            .map_err(|e| summary("AttachPolicy", &e))?;
        self.client
            .attach_thing_principal()
            .thing_name(thing_name)
            .principal(&arn)
            .send()
            .await
            .map_err(|e| summary("AttachThingPrincipal", &e))?;
        Ok(IotIdentity {
            thing_name: thing_name.to_owned(),
            certificate_arn: arn,
            certificate_pem: cert.certificate_pem.unwrap_or_default(),
            private_key: cert.key_pair.and_then(|k| k.private_key).unwrap_or_default(),
        })
    }
}
