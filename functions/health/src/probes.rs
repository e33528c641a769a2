//! The dependencies health checks, behind small traits so the handler is plain code over them.

use std::future::Future;

use petty_shared::sdk_error::error_summary;

/// Can a table be reached? (`dynamodb:DescribeTable`.)
pub trait TableProbe: Send + Sync {
    /// Ok when the table exists and is usable.
    fn describe(&self, table: &str) -> impl Future<Output = Result<(), String>> + Send;
}

impl TableProbe for aws_sdk_dynamodb::Client {
    async fn describe(&self, table: &str) -> Result<(), String> {
        let out = self.describe_table().table_name(table).send().await.map_err(|e| error_summary(&e))?;
        match out.table.and_then(|t| t.table_status) {
            Some(aws_sdk_dynamodb::types::TableStatus::Active)
            | Some(aws_sdk_dynamodb::types::TableStatus::Updating) => Ok(()),
            Some(other) => Err(format!("table status {}", other.as_str())),
            None => Err("table status unknown".into()),
        }
    }
}

/// One CloudWatch alarm, as operators see it (a wire type of the detailed view).
pub use petty_shared::api::AlarmStatus;

/// This stack's alarms (`cloudwatch:DescribeAlarms`).
pub trait AlarmSource: Send + Sync {
    /// Every alarm whose name starts with `prefix`.
    fn alarms(&self, prefix: &str) -> impl Future<Output = Result<Vec<AlarmStatus>, String>> + Send;
}

impl AlarmSource for aws_sdk_cloudwatch::Client {
    async fn alarms(&self, prefix: &str) -> Result<Vec<AlarmStatus>, String> {
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .describe_alarms()
                .alarm_name_prefix(prefix)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| error_summary(&e))?;
            out.extend(page.metric_alarms.unwrap_or_default().into_iter().map(|a| AlarmStatus {
                name: a.alarm_name.unwrap_or_default(),
                state: a.state_value.map(|s| s.as_str().to_owned()).unwrap_or_else(|| "UNKNOWN".into()),
                reason: a.state_reason,
            }));
            match page.next_token {
                Some(token) if !token.is_empty() => next = Some(token),
                _ => break,
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}
