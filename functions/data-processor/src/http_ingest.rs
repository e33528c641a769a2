//! `POST /v1/ingest`: one reading or `{"readings": [...]}` (up to [`MAX_BATCH`]), stored
//! through `petty_shared::ingest`. Every collar named must be the caller's. A single reading
//! that breaks a rule is a 422; a batch answers a report of every input; readings not stored
//! in time make it a 503 naming them (send those again).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use petty_shared::audit::AuditStore;
use petty_shared::auth::{ApiKeyStore, Principal};
use petty_shared::collar::Need;
use petty_shared::http::{ApiError, Invocation, json_response};
use petty_shared::ingest::{IngestReport, ReadingStore, before_claim_rejection, store_valid, validate_all};
use petty_shared::metrics::Unit;
use petty_shared::secrets::SecretSource;
use petty_shared::stores::{AccountZones, ClaimCounters, CollarStore, LatestReadings};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::DataApp;

/// Readings per request.
pub const MAX_BATCH: usize = 500;
/// Time kept back from Lambda's deadline to answer.
const ANSWER_MARGIN: Duration = Duration::from_millis(1500);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Batch<'a> {
    #[serde(borrow)]
    readings: Vec<&'a RawValue>,
}

/// Splits a body into its raw readings, and says whether it was a `{"readings": [...]}` batch.
fn split_body(body: &str) -> Result<(Vec<&str>, bool), ApiError> {
    let is_batch = body.trim_start().starts_with('{') && body.contains("\"readings\"");
    if !is_batch {
        return Ok((vec![body], false));
    }
    let batch: Batch =
        serde_json::from_str(body).map_err(|e| ApiError::bad_request("invalid_json", format!("invalid batch: {e}")))?;
    if batch.readings.is_empty() || batch.readings.len() > MAX_BATCH {
        return Err(ApiError::unprocessable("batch_size", format!("send 1 to {MAX_BATCH} readings per request")));
    }
    Ok((batch.readings.into_iter().map(RawValue::get).collect(), true))
}

fn record_metrics(inv: &Invocation, report: &IngestReport, inputs: usize, started: Instant) {
    for m in report.metrics(inputs) {
        match m.reason {
            Some(reason) => inv.metric_with(m.name, Unit::Count, m.value, &[("reason", reason)]),
            None => inv.metric(m.name, Unit::Count, m.value),
        }
    }
    inv.metric("IngestLatency", Unit::Milliseconds, started.elapsed().as_secs_f64() * 1000.0);
}

/// `POST /v1/ingest` for an authenticated principal holding `readings:write`.
pub async fn ingest<S, C, R, N, K, A, U>(
    app: &DataApp<S, C, R, N, K, A, U>,
    principal: &Principal,
    req: &Request,
    inv: &Invocation,
) -> Result<Response<Body>, ApiError>
where
    S: SecretSource,
    C: CollarStore,
    R: ReadingStore + LatestReadings,
    N: ClaimCounters,
    K: ApiKeyStore,
    A: AuditStore + Clone,
    U: AccountZones,
{
    let started = Instant::now();
    let body = match req.body() {
        Body::Text(t) => t.as_str(),
        Body::Binary(b) => {
            std::str::from_utf8(b).map_err(|_| ApiError::bad_request("invalid_json", "body is not UTF-8"))?
        }
        _ => "",
    };
    if body.trim().is_empty() {
        return Err(ApiError::bad_request("missing_body", "a reading or {\"readings\": [...]} is required"));
    }
    let (inputs, is_batch) = split_body(body)?;
    let (valid, mut rejected) = validate_all(&inputs, chrono::Utc::now().timestamp_millis());

    // Every collar named must be the caller's to feed (the owner's right; another owner's
    // collar is a 404, like a missing one, a member's a 403) and allowed for an API key
    // limited to some collars (403).
    let mut visible_from = HashMap::new();
    let mut calendars = HashMap::new();
    let collars: HashSet<&str> = valid.iter().map(|(_, r)| r.collar_id.as_str()).collect();
    for collar in collars {
        let owned = app.collar_for(principal, collar, Need::ManageMembers).await?.collar;
        visible_from.insert(collar.to_owned(), owned.visible_from_ms());
        calendars.insert(collar.to_owned(), petty_shared::Calendar::new(owned.pet.tz()));
    }
    // Accepted means visible: a reading from before this owner's claim is a previous owner's.
    let (valid, before_claim): (Vec<_>, Vec<_>) =
        valid.into_iter().partition(|(_, r)| r.timestamp_ms >= visible_from[&r.collar_id]);
    rejected.extend(before_claim.into_iter().map(|(index, _)| before_claim_rejection(index)));
    rejected.sort_by_key(|r| r.index);
    if !is_batch && !rejected.is_empty() {
        let r = &rejected[0];
        record_metrics(inv, &IngestReport { rejected: rejected.clone(), ..IngestReport::default() }, 1, started);
        return Err(ApiError::unprocessable(r.reason, r.message.clone()));
    }
    let mut report = store_valid(&app.readings, &calendars, &valid, inv.deadline_with_margin(ANSWER_MARGIN)).await?;
    report.rejected = rejected;
    record_metrics(inv, &report, inputs.len(), started);
    if report.not_stored.is_empty() {
        json_response(StatusCode::OK, &report.view())
    } else {
        Err(ApiError::unavailable_report(&report.view(), Some(2)))
    }
}
