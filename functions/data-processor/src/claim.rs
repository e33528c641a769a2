//! `POST /v1/collars`: claiming a registered collar with the code printed in its box.
//!
//! A wrong code, an unregistered serial and a collar someone else owns get the same answer
//! (404, one body) after the same calls: attempts counted, the registration read, the owner's
//! collar count and hourly claims read, one conditional update that fails. A caller's own
//! collar is a 200. Attempts are counted per account and per serial before the code is
//! checked (atomically, so parallel guesses all count) and, past the limits, answered 429 with
//! `Retry-After` until the window ends; every failed attempt and every lockout is audited.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use petty_shared::api;
use petty_shared::audit::{self, AuditEvent, AuditStore};
use petty_shared::auth::ApiKeyStore;
use petty_shared::claim_code::ClaimCode;
use petty_shared::collar::{Role, is_collar_id};
use petty_shared::dynamo::StoreError;
use petty_shared::http::{ApiError, json_body, json_response, source_ip};
use petty_shared::ingest::ReadingStore;
use petty_shared::secrets::SecretSource;
use petty_shared::stores::{AccountZones, ClaimCounters, CollarStore, LatestReadings};
use petty_shared::tables::collars::ClaimRequest;

use crate::{DataApp, MANAGE};

/// The one answer for a claim that cannot succeed, whatever the reason.
fn no_match() -> ApiError {
    ApiError::NotFound("no unclaimed collar has this serial and claim code".into())
}

/// `POST /v1/collars`.
pub async fn claim<S, C, R, N, K, A, U>(
    app: &DataApp<S, C, R, N, K, A, U>,
    req: &Request,
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
    let principal = app.edge.require_user(req, MANAGE).await?;
    let body: api::ClaimCollar = json_body(req)?;
    if !is_collar_id(&body.collar_id) {
        return Err(ApiError::unprocessable("invalid_collar_id", "collar_id must match ^[A-Z]{2}-\\d{3,6}$"));
    }
    let code =
        ClaimCode::parse(&body.claim_code).map_err(|e| ApiError::bad_request("invalid_claim_code", e.to_string()))?;
    body.pet.validate(chrono::Utc::now().date_naive()).map_err(|m| ApiError::unprocessable("invalid_pet", m))?;
    let me = principal.user_id.as_str();
    let ip = source_ip(req);
    let audit = |action: &str, outcome: &str| {
        AuditEvent::now(action, outcome, Some(me), ip.as_deref()).with_detail(body.collar_id.clone())
    };
    let limits = app.claim_limits;
    let now_ms = chrono::Utc::now().timestamp_millis();
    let now = now_ms / 1000;

    // Attempts in this window, counted before anything is checked.
    let window = now.div_euclid(limits.window_s);
    let window_end = (window + 1) * limits.window_s;
    let (account_subject, collar_subject) =
        (format!("attempt#user#{me}#{window}"), format!("attempt#collar#{}#{window}", body.collar_id));
    let expires = window_end + limits.window_s;
    let (by_account, by_collar) = tokio::try_join!(
        app.counters.bump_counter(&account_subject, expires),
        app.counters.bump_counter(&collar_subject, expires),
    )?;
    if by_account > limits.attempts_per_account || by_collar > limits.attempts_per_collar {
        audit::emit(&app.edge.audit, audit("collar_claim", "locked_out")).await;
        return Err(ApiError::TooManyRequests { retry_after_s: (window_end - now).max(1) as u64 });
    }

    let registration = app.collars.registration(&body.collar_id).await?;
    if let Some(own) = registration.as_ref().and_then(|r| r.owned.as_ref()).filter(|c| c.owner_id == me) {
        return json_response(StatusCode::OK, &app.collar_view(own, Role::Owner).await?);
    }
    let hour = now.div_euclid(3600);
    let claimed_subject = format!("claimed#user#{me}#{hour}");
    let (held, claimed_this_hour) =
        tokio::try_join!(app.collars.count_of_owner(me), app.counters.counter(&claimed_subject))?;
    if held >= limits.collars_per_account {
        return Err(ApiError::Forbidden(format!(
            "an account may hold at most {} collars; release one first",
            limits.collars_per_account
        )));
    }
    if claimed_this_hour >= limits.claims_per_hour {
        return Err(ApiError::TooManyRequests { retry_after_s: ((hour + 1) * 3600 - now).max(1) as u64 });
    }
    // A pet claimed without a time zone lives in its owner's (their account's), else UTC.
    let mut pet = body.pet.clone();
    if pet.timezone.is_none() {
        pet.timezone = app.zones.timezone_of(me).await?.filter(|tz| tz.parse::<chrono_tz::Tz>().is_ok());
    }
    let hash = code.hash();
    let household = petty_shared::collar::new_household();
    let attempt = ClaimRequest {
        collar_id: &body.collar_id,
        owner_id: me,
        pet: &pet,
        claim_code_hash: &hash,
        owners_seen: registration.as_ref().map_or(0, |r| r.owners_so_far),
        now_ms,
        household: &household,
    };
    match app.collars.claim(&attempt).await {
        Ok(collar) => {
            app.counters.bump_counter(&claimed_subject, (hour + 2) * 3600).await?;
            audit::emit(&app.edge.audit, audit("collar_claimed", "success")).await;
            json_response(StatusCode::CREATED, &app.collar_view(&collar, Role::Owner).await?)
        }
        Err(StoreError::ConditionFailed) => {
            audit::emit(&app.edge.audit, audit("collar_claim", "failure")).await;
            Err(no_match())
        }
        Err(other) => Err(other.into()),
    }
}
