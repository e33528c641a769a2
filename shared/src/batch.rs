//! The partial-batch response of the functions Lambda feeds from a stream or a queue
//! (`FunctionResponseTypes: [ReportBatchItemFailures]`): the records to hand back. For a
//! stream Lambda retries from the lowest sequence number named; for a queue only the named
//! messages come back.

use serde::Serialize;

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct BatchResponse {
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<ItemFailure>,
}

/// One record handed back: its sequence number (stream) or message id (queue).
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

/// An SQS batch as Lambda delivers it: the fields a queue consumer reads.
#[derive(Debug, Default, serde::Deserialize)]
pub struct SqsEvent {
    #[serde(rename = "Records", default)]
    pub records: Vec<SqsMessage>,
}

/// One message of an [`SqsEvent`].
#[derive(Debug, Default, serde::Deserialize)]
pub struct SqsMessage {
    #[serde(rename = "messageId", default)]
    pub message_id: String,
    #[serde(default)]
    pub body: String,
}
