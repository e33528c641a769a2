//! `petty summary`: the pet's days over a month (or any range) as a small chart.

use chrono::{Datelike, Months, NaiveDate, Utc};
use petty_client::Client;

use super::print_json;
use crate::cli::SummaryArgs;
use crate::exit::Outcome;
use crate::render;

/// Columns of a day's bar: narrow enough for a terminal with the date and figures beside it.
const BAR_WIDTH: usize = 40;

/// `petty summary`: one chart row per day, then streaks and the weekly and monthly aggregates;
/// `--json` prints the API's [`PetSummary`](petty_client::types::PetSummary).
pub async fn run(c: &Client, a: &SummaryArgs, json: bool) -> Outcome {
    let (from, to) = range(a, Utc::now().date_naive());
    let s = c.summary(&a.collar, &from.to_string(), &to.to_string()).await?;
    if json {
        print_json(&s);
        return Ok(());
    }
    print!("{}", render::month_chart(&s, BAR_WIDTH));
    Ok(())
}

/// The dates asked for: `--from`/`--to`, else `--month`'s, else the month of `today`. Today in
/// UTC is good enough: only the month is taken from it, and the server cuts the pet's local days.
pub fn range(a: &SummaryArgs, today: NaiveDate) -> (NaiveDate, NaiveDate) {
    if let (Some(from), Some(to)) = (a.from, a.to) {
        return (from, to);
    }
    let first = a.month.unwrap_or(today).with_day(1).unwrap_or(today);
    let last = first.checked_add_months(Months::new(1)).and_then(|d| d.pred_opt()).unwrap_or(first);
    (first, last)
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use clap::error::ErrorKind;

    use super::*;
    use crate::cli::{Cli, Command};

    fn parse(args: &[&str]) -> Result<SummaryArgs, ErrorKind> {
        let cli = Cli::try_parse_from(["petty", "summary"].iter().chain(args)).map_err(|e| e.kind())?;
        match cli.command {
            Command::Summary(a) => Ok(a),
            _ => panic!("not summary"),
        }
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn dates(args: &[&str], today: &str) -> (String, String) {
        let (from, to) = range(&parse(args).unwrap(), date(today));
        (from.to_string(), to.to_string())
    }

    #[test]
    fn the_default_is_the_current_month() {
        assert_eq!(dates(&["DM-000001"], "2026-11-21"), ("2026-11-01".into(), "2026-11-30".into()));
        assert_eq!(dates(&["DM-000001"], "2026-12-31"), ("2026-12-01".into(), "2026-12-31".into()));
        assert_eq!(dates(&["DM-000001"], "2028-02-01"), ("2028-02-01".into(), "2028-02-29".into()), "leap year");
    }

    #[test]
    fn a_month_or_a_range() {
        assert_eq!(
            dates(&["DM-000001", "--month", "2027-02"], "2026-11-21"),
            ("2027-02-01".into(), "2027-02-28".into())
        );
        assert_eq!(
            dates(&["DM-000001", "--from", "2026-01-15", "--to", "2026-03-02"], "2026-11-21"),
            ("2026-01-15".into(), "2026-03-02".into())
        );
        assert_eq!(parse(&["DM-000001", "--month", "2026-11-05"]).err(), Some(ErrorKind::ValueValidation));
        assert_eq!(parse(&["DM-000001", "--month", "november"]).err(), Some(ErrorKind::ValueValidation));
        assert_eq!(
            parse(&["DM-000001", "--month", "2026-11", "--from", "2026-11-01", "--to", "2026-11-02"]).err(),
            Some(ErrorKind::ArgumentConflict)
        );
        assert_eq!(parse(&["DM-000001", "--from", "2026-11-01"]).err(), Some(ErrorKind::MissingRequiredArgument));
        assert_eq!(parse(&["DM-000001", "--to", "2026-11-01"]).err(), Some(ErrorKind::MissingRequiredArgument));
        assert!(parse(&["DM-000001", "--json"]).is_ok_and(|a| a.month.is_none() && a.from.is_none()));
    }
}
