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
