//! The operators' routes (`admin` scope): registering collars before anyone owns them.

use serde::{Deserialize, Serialize};

/// Serials registered per request, at most.
pub const MAX_REGISTRATIONS: usize = 500;

/// `POST /v1/admin/collars`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterCollars {
    pub collars: Vec<NewCollar>,
}

/// One serial to register.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCollar {
    pub collar_id: String,
    /// Also create its AWS IoT thing, certificate and keys.
    #[serde(default)]
    pub iot: bool,
}

/// The answer: one row per serial, in the order sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegisteredCollars {
    pub collars: Vec<RegisteredCollar>,
}

/// What registering one serial did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegisteredCollar {
    pub collar_id: String,
    /// `registered`, or `exists` (nothing changed; its code is never shown again).
    pub status: RegistrationStatus,
    /// The claim code, shown once, for a newly registered serial only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_code: Option<String>,
    /// Its IoT identity, shown once, when `iot` was asked for a new serial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iot: Option<IotIdentity>,
}

/// Whether a serial was new.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationStatus {
    Registered,
    Exists,
}

/// A collar's AWS IoT identity: the thing, and the certificate and private key it connects
/// with (the key is returned once and never stored by Petty).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IotIdentity {
    pub thing_name: String,
    pub certificate_arn: String,
    pub certificate_pem: String,
    pub private_key: String,
}

/// `POST /v1/admin/collars/{collar_id}/claim-code`: a lost code replaced (the old one stops
/// working), shown once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClaimCodeReset {
    pub collar_id: String,
    pub claim_code: String,
}
