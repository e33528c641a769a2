//! `GET /v1/pet-summary?collar_id=&from=YYYY-MM-DD&to=YYYY-MM-DD`: one row per local day of
//! the pet from the days' summaries (finished days from their records), with weekly and
//! monthly aggregates and goal streaks.

use chrono::NaiveDate;
use lambda_http::Request;
use petty_shared::api::summary::MAX_SUMMARY_DAYS;
use petty_shared::http::{ApiError, query_param};

/// Rows when `from` is not given: the last 30 days.
pub const DEFAULT_DAYS: u64 = 30;

/// A summary request's parameters, checked before any storage call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SummaryQuery {
    pub collar_id: String,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

fn date(req: &Request, name: &str, code: &'static str) -> Result<Option<NaiveDate>, ApiError> {
    query_param(req, name)
        .map(|raw| {
            NaiveDate::parse_from_str(&raw, "%Y-%m-%d")
                .ok()
                .filter(|_| raw.len() == 10)
                .ok_or_else(|| ApiError::bad_request(code, format!("{name} must be a date, YYYY-MM-DD")))
        })
        .transpose()
}

/// The range's days, both ends included: 400 `invalid_window` when `from` is after `to`,
/// `window_too_long` past [`MAX_SUMMARY_DAYS`].
pub fn check_range(from: NaiveDate, to: NaiveDate) -> Result<(), ApiError> {
    if from > to {
        return Err(ApiError::bad_request("invalid_window", "from must not be after to"));
    }
    if (to - from).num_days() + 1 > MAX_SUMMARY_DAYS {
        return Err(ApiError::bad_request(
            "window_too_long",
            format!("a summary covers at most {MAX_SUMMARY_DAYS} days"),
        ));
    }
    Ok(())
}

impl SummaryQuery {
    /// `from`/`to` are local dates of the pet (400 `invalid_from`/`invalid_to`); `to`
    /// defaults to the pet's today, `from` to [`DEFAULT_DAYS`] days before `to`.
    pub fn parse(req: &Request) -> Result<Self, ApiError> {
        let q = Self {
            collar_id: petty_shared::http::query::collar_id(req)?,
            from: date(req, "from", "invalid_from")?,
            to: date(req, "to", "invalid_to")?,
        };
        if let (Some(from), Some(to)) = (q.from, q.to) {
            check_range(from, to)?;
        }
        Ok(q)
    }

    /// The range, with the defaults filled in from the pet's `today`.
    pub fn range(&self, today: NaiveDate) -> Result<(NaiveDate, NaiveDate), ApiError> {
        let to = self.to.unwrap_or(today);
        let from = self.from.unwrap_or(to - chrono::Days::new(DEFAULT_DAYS - 1));
        check_range(from, to)?;
        Ok((from, to))
    }
}
