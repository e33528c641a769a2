//! CloudWatch Embedded Metric Format: metrics written as structured log lines that CloudWatch
//! turns into metrics asynchronously, so no `PutMetricData` call sits in the request path.
//!
//! Field names follow Powertools for AWS Lambda: namespace `Petty`, default dimensions
//! `service` and `function_name`, a `ColdStart` metric, metadata at the root.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

/// The namespace every Petty metric is published under.
pub const NAMESPACE: &str = "Petty";
/// EMF limit: metrics per document.
pub const MAX_METRICS_PER_DOCUMENT: usize = 100;
/// EMF limit: dimensions per dimension set.
pub const MAX_DIMENSIONS: usize = 30;
/// EMF limit: values per metric per document.
pub const MAX_VALUES_PER_METRIC: usize = 100;

/// CloudWatch units (the subset Petty uses).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
    Seconds,
    Bytes,
    Percent,
    None,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
            Unit::Seconds => "Seconds",
            Unit::Bytes => "Bytes",
            Unit::Percent => "Percent",
            Unit::None => "None",
        }
    }
}

/// A metric or dimension the EMF rules reject; the caller's bug, reported instead of dropped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetricsError {
    #[error("metric name must be 1-255 characters: {0:?}")]
    InvalidName(String),
    #[error("metric {0} has a non-finite value")]
    NonFinite(String),
    #[error("metric {name} was recorded with unit {new:?} after {old:?}")]
    UnitMismatch { name: String, old: Unit, new: Unit },
    #[error("more than {MAX_DIMENSIONS} dimensions")]
    TooManyDimensions,
    #[error("dimension names and values must be 1-255 characters")]
    InvalidDimension,
}

#[derive(Debug, Clone)]
struct Series {
    unit: Unit,
    values: Vec<f64>,
}

/// Metrics of one invocation, grouped by their extra dimensions; flushed once at its end.
#[derive(Debug, Clone)]
pub struct Metrics {
    defaults: Vec<(String, String)>,
    groups: BTreeMap<Vec<(String, String)>, BTreeMap<String, Series>>,
    metadata: Map<String, Value>,
}

fn valid_text(s: &str) -> bool {
    !s.is_empty() && s.len() <= 255
}

impl Metrics {
    /// Metrics with the default dimensions `service` and `function_name`.
    pub fn new(service: &str, function_name: &str) -> Self {
        Self {
            defaults: vec![("service".into(), service.into()), ("function_name".into(), function_name.into())],
            groups: BTreeMap::new(),
            metadata: Map::new(),
        }
    }

    /// Records `value` for `name` under the default dimensions.
    pub fn add(&mut self, name: &str, unit: Unit, value: f64) -> Result<(), MetricsError> {
        self.add_with(name, unit, value, &[])
    }

    /// Records `value` under the default dimensions plus `extra` (keep their cardinality low).
    pub fn add_with(&mut self, name: &str, unit: Unit, value: f64, extra: &[(&str, &str)]) -> Result<(), MetricsError> {
        if !valid_text(name) {
            return Err(MetricsError::InvalidName(name.into()));
        }
        if !value.is_finite() {
            return Err(MetricsError::NonFinite(name.into()));
        }
        if self.defaults.len() + extra.len() > MAX_DIMENSIONS {
            return Err(MetricsError::TooManyDimensions);
        }
        if extra.iter().any(|(k, v)| !valid_text(k) || !valid_text(v)) {
            return Err(MetricsError::InvalidDimension);
        }
        let mut key: Vec<(String, String)> = extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        key.sort();
        let series =
            self.groups.entry(key).or_default().entry(name.to_owned()).or_insert(Series { unit, values: vec![] });
        if series.unit != unit {
            return Err(MetricsError::UnitMismatch { name: name.into(), old: series.unit, new: unit });
        }
        series.values.push(value);
        Ok(())
    }

    /// Attaches searchable, non-metric context (e.g. the request id) to every document.
    pub fn add_metadata(&mut self, key: &str, value: impl Into<Value>) {
        self.metadata.insert(key.to_owned(), value.into());
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Renders the recorded metrics as EMF documents within the limits, and clears them.
    pub fn flush(&mut self, timestamp_ms: i64) -> Vec<String> {
        let mut docs = Vec::new();
        for (extra, series) in std::mem::take(&mut self.groups) {
            let dims: Vec<(String, String)> = self.defaults.iter().cloned().chain(extra).collect();
            // Split into documents of at most MAX_METRICS_PER_DOCUMENT names and
            // MAX_VALUES_PER_METRIC values per name.
            let mut pending: Vec<(String, Unit, Vec<f64>)> = series
                .into_iter()
                .flat_map(|(name, s)| {
                    s.values
                        .chunks(MAX_VALUES_PER_METRIC)
                        .map(|c| (name.clone(), s.unit, c.to_vec()))
                        .collect::<Vec<_>>()
                })
                .collect();
            while !pending.is_empty() {
                let mut batch = Vec::new();
                let mut rest = Vec::new();
                for entry in pending {
                    if batch.len() < MAX_METRICS_PER_DOCUMENT
                        && !batch.iter().any(|(n, _, _): &(String, Unit, Vec<f64>)| *n == entry.0)
                    {
                        batch.push(entry);
                    } else {
                        rest.push(entry);
                    }
                }
                docs.push(self.document(&dims, &batch, timestamp_ms));
                pending = rest;
            }
        }
        docs
    }

    fn document(&self, dims: &[(String, String)], batch: &[(String, Unit, Vec<f64>)], timestamp_ms: i64) -> String {
        let mut root = self.metadata.clone();
        for (k, v) in dims {
            root.insert(k.clone(), json!(v));
        }
        let mut definitions = Vec::with_capacity(batch.len());
        for (name, unit, values) in batch {
            definitions.push(json!({ "Name": name, "Unit": unit.as_str() }));
            let value = if values.len() == 1 { json!(values[0]) } else { json!(values) };
            root.insert(name.clone(), value);
        }
        let dim_names: Vec<&str> = dims.iter().map(|(k, _)| k.as_str()).collect();
        root.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{ "Namespace": NAMESPACE, "Dimensions": [dim_names], "Metrics": definitions }],
            }),
        );
        Value::Object(root).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(doc: &str) -> Value {
        serde_json::from_str(doc).unwrap()
    }

    #[test]
    fn document_has_the_emf_shape() {
        let mut m = Metrics::new("ingest", "petty-data-processor");
        m.add("ReadingsAccepted", Unit::Count, 3.0).unwrap();
        m.add("IngestLatency", Unit::Milliseconds, 12.5).unwrap();
        m.add_metadata("request_id", "req-1");
        let docs = m.flush(1_700_000_000_000);
        assert_eq!(docs.len(), 1);
        let d = parse(&docs[0]);
        assert_eq!(d["_aws"]["Timestamp"], 1_700_000_000_000i64);
        let cw = &d["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(cw["Namespace"], "Petty");
        assert_eq!(cw["Dimensions"], json!([["service", "function_name"]]));
        assert_eq!(
            cw["Metrics"],
            json!([{"Name":"IngestLatency","Unit":"Milliseconds"},{"Name":"ReadingsAccepted","Unit":"Count"}])
        );
        assert_eq!(d["ReadingsAccepted"], 3.0);
        assert_eq!(d["service"], "ingest");
        assert_eq!(d["function_name"], "petty-data-processor");
        assert_eq!(d["request_id"], "req-1");
        assert!(m.is_empty(), "flush clears");
        assert!(m.flush(0).is_empty());
    }

    #[test]
    fn extra_dimensions_get_their_own_document() {
        let mut m = Metrics::new("s", "f");
        m.add("ReadingsRejected", Unit::Count, 1.0).unwrap();
        m.add_with("ReadingsRejected", Unit::Count, 2.0, &[("reason", "heart_rate")]).unwrap();
        let docs: Vec<Value> = m.flush(0).iter().map(|d| parse(d)).collect();
        assert_eq!(docs.len(), 2);
        let with_reason = docs.iter().find(|d| d.get("reason").is_some()).unwrap();
        assert_eq!(
            with_reason["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["service", "function_name", "reason"]])
        );
        assert_eq!(with_reason["ReadingsRejected"], 2.0);
    }

    #[test]
    fn repeated_values_become_arrays_and_split_at_100() {
        let mut m = Metrics::new("s", "f");
        for i in 0..250 {
            m.add("Latency", Unit::Milliseconds, i as f64).unwrap();
        }
        let docs: Vec<Value> = m.flush(0).iter().map(|d| parse(d)).collect();
        let sizes: Vec<usize> = docs.iter().map(|d| d["Latency"].as_array().unwrap().len()).collect();
        assert_eq!(sizes, vec![100, 100, 50]);
        let all: Vec<f64> =
            docs.iter().flat_map(|d| d["Latency"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap())).collect();
        assert_eq!(all, (0..250).map(|i| i as f64).collect::<Vec<_>>(), "no value lost or reordered");
    }

    #[test]
    fn more_than_100_metrics_split_documents() {
        let mut m = Metrics::new("s", "f");
        for i in 0..150 {
            m.add(&format!("M{i}"), Unit::Count, 1.0).unwrap();
        }
        let docs: Vec<Value> = m.flush(0).iter().map(|d| parse(d)).collect();
        let counts: Vec<usize> =
            docs.iter().map(|d| d["_aws"]["CloudWatchMetrics"][0]["Metrics"].as_array().unwrap().len()).collect();
        assert_eq!(counts, vec![100, 50]);
    }

    #[test]
    fn rejects_what_emf_rejects() {
        let mut m = Metrics::new("s", "f");
        assert!(matches!(m.add("", Unit::Count, 1.0), Err(MetricsError::InvalidName(_))));
        assert!(matches!(m.add(&"x".repeat(256), Unit::Count, 1.0), Err(MetricsError::InvalidName(_))));
        assert!(matches!(m.add("x", Unit::Count, f64::NAN), Err(MetricsError::NonFinite(_))));
        m.add("x", Unit::Count, 1.0).unwrap();
        assert!(matches!(m.add("x", Unit::Seconds, 1.0), Err(MetricsError::UnitMismatch { .. })));
        let names: Vec<String> = (0..29).map(|i| format!("d{i}")).collect();
        let extra: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();
        assert_eq!(m.add_with("y", Unit::Count, 1.0, &extra), Err(MetricsError::TooManyDimensions));
        assert_eq!(m.add_with("y", Unit::Count, 1.0, &[("k", "")]), Err(MetricsError::InvalidDimension));
    }
}
