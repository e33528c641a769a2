//! `petty alerts [COLLAR]` (list, `--watch`), `petty alerts ack` and `petty alerts show` (an alert and
//! its delivery log).

use std::collections::HashMap;
use std::time::Duration;

use petty_client::types::{Alert, AlertDetail, AlertList, AlertStatus, Delivery};
use petty_client::{AlertFilter, Client, Error};

use super::print_json;
use crate::cli::{AlertsArgs, AlertsCmd, AlertsListArgs, StatusArg, WATCH_EVERY_S};
use crate::exit::{Exit, Failure, Outcome};
use crate::render;

/// `--json` prints the API's [`Alert`] (`ack`), [`AlertDetail`] (`show`: the alert's fields and
/// its `deliveries`) or [`AlertList`] (the list: with `--all` every page's alerts in one, so
/// `next_cursor` is `null`). With `--watch`, each new or changed alert
/// is printed as its [`Alert`], compact, one per line: a stream of JSON lines.
pub async fn run(c: &Client, a: &AlertsArgs, json: bool) -> Outcome {
    match &a.cmd {
        Some(AlertsCmd::Ack { .. }) if lists(&a.list) => Err(Failure::new(
            Exit::Usage,
            "`petty alerts ack ALERT` takes the alert's id only: COLLAR and the filters are the list's",
        )),
        Some(AlertsCmd::Show { .. }) if lists(&a.list) => Err(Failure::new(
            Exit::Usage,
            "`petty alerts show ALERT` takes the alert's id only: COLLAR and the filters are the list's",
        )),
        Some(AlertsCmd::Show { alert }) => {
            let detail = c.alert(alert).await?;
            if json {
                print_json(&detail);
            } else {
                print!("{}", show(&detail));
            }
            Ok(())
        }
        Some(AlertsCmd::Ack { alert }) => {
            let acked = c.ack_alert(alert).await?;
            if json {
                print_json(&acked);
            } else {
                let when = acked.acknowledged_at.as_deref().map(render::datetime).unwrap_or_else(|| "-".into());
                println!(
                    "{} is {} (acknowledged {when}): {} on {}, opened {}",
                    acked.alert_id,
                    acked.status.as_str(),
                    acked.kind.as_str(),
                    acked.collar_id,
                    render::datetime(&acked.opened_at)
                );
            }
            Ok(())
        }
        None if a.list.watch => watch(c, &a.list, json).await,
        None => list(c, &a.list, json).await,
    }
}

/// Any of the list's arguments given (clap has them beside the subcommand, not instead of it).
fn lists(a: &AlertsListArgs) -> bool {
    let AlertsListArgs { collar, status, from, to, limit, all, watch, interval, count } = a;
    collar.is_some()
        || status.is_some()
        || from.is_some()
        || to.is_some()
        || limit.is_some()
        || *all
        || *watch
        || *interval != WATCH_EVERY_S
        || count.is_some()
}

fn filter_of(a: &AlertsListArgs) -> Result<AlertFilter, Failure> {
    for (flag, value) in [("--from", &a.from), ("--to", &a.to)] {
        if let Some(v) = value.as_deref().filter(|v| render::parse_time(v).is_none()) {
            return Err(Failure::new(Exit::Usage, format!("{flag} {v:?}: RFC 3339, e.g. 2026-12-01T08:00:00Z")));
        }
    }
    Ok(AlertFilter {
        collar_id: a.collar.clone(),
        status: a.status.map(|s| match s {
            StatusArg::Open => AlertStatus::Open,
            StatusArg::Acknowledged => AlertStatus::Acknowledged,
            StatusArg::Resolved => AlertStatus::Resolved,
        }),
        from: a.from.clone(),
        to: a.to.clone(),
    })
}

async fn fetch(c: &Client, filter: &AlertFilter, a: &AlertsListArgs) -> Result<AlertList, Error> {
    if a.all { c.alerts_all(filter, a.limit).await } else { c.alerts(filter, None, a.limit).await }
}

async fn list(c: &Client, a: &AlertsListArgs, json: bool) -> Outcome {
    let filter = filter_of(a)?;
    let page = fetch(c, &filter, a).await?;
    if json {
        print_json(&page);
        return Ok(());
    }
    if page.alerts.is_empty() {
        println!("no alerts{}", if filter == AlertFilter::default() { "" } else { " match" });
    } else {
        let rows: Vec<Vec<String>> = page.alerts.iter().map(row).collect();
        let header = ["OPENED", "TYPE", "STATUS", "ZONE", "VALUE", "RESOLVED", "BY", "ALERT"];
        print!("{}", render::table(&header, &rows));
    }
    if page.next_cursor.is_some() {
        eprintln!("older alerts on further pages: --all shows them all");
    }
    Ok(())
}

/// Polls until Ctrl-C (or `--count` polls); a passing outage is shown and polling goes on.
async fn watch(c: &Client, a: &AlertsListArgs, json: bool) -> Outcome {
    let filter = filter_of(a)?;
    if !json {
        eprintln!("watching alerts every {} s (Ctrl-C stops)", a.interval);
    }
    let mut seen = HashMap::new();
    let mut polls = 0u32;
    loop {
        let page = fetch(c, &filter, a).await;
        polls += 1;
        let last = a.count.is_some_and(|n| polls >= n);
        match page {
            Ok(page) => {
                for (alert, was) in changes(&mut seen, &page.alerts) {
                    if json {
                        println!("{}", serde_json::to_string(alert).unwrap_or_default());
                    } else {
                        println!("{}", watch_line(alert, was));
                    }
                }
            }
            Err(e @ (Error::Transport { .. } | Error::CircuitOpen { .. } | Error::Api { status: 429 | 500.., .. }))
                if !last =>
            {
                eprintln!("petty: {e} (still watching)");
            }
            Err(e) => return Err(e.into()),
        }
        if last {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_secs(a.interval)).await;
    }
}

/// The alerts of one poll (newest first, as listed) that are new to `seen` or whose status
/// changed, oldest first, each with its status before (`None`: new); `seen` learns them.
pub fn changes<'a>(
    seen: &mut HashMap<String, AlertStatus>,
    alerts: &'a [Alert],
) -> Vec<(&'a Alert, Option<AlertStatus>)> {
    let mut out = Vec::new();
    for alert in alerts.iter().rev() {
        match seen.insert(alert.alert_id.clone(), alert.status) {
            None => out.push((alert, None)),
            Some(before) if before != alert.status => out.push((alert, Some(before))),
            Some(_) => {}
        }
    }
    out
}

/// One alert as a table row.
fn row(a: &Alert) -> Vec<String> {
    vec![
        render::datetime(&a.opened_at),
        a.kind.as_str().to_owned(),
        a.status.as_str().to_owned(),
        a.zone_id.clone().unwrap_or_else(|| "-".into()),
        value(a),
        a.resolved_at.as_deref().map(render::datetime).unwrap_or_else(|| "-".into()),
        a.resolved_by.clone().unwrap_or_else(|| "-".into()),
        a.alert_id.clone(),
    ]
}

/// `petty alerts show`: the alert, then its deliveries as a table.
fn show(d: &AlertDetail) -> String {
    let a = &d.alert;
    let when = |t: &Option<String>| t.as_deref().map(render::datetime).unwrap_or_else(|| "-".into());
    let mut out = format!(
        "{} is {}: {} on {}, zone {}, {}\nopened {}, acknowledged {}, resolved {}{}\n",
        a.alert_id,
        a.status.as_str(),
        a.kind.as_str(),
        a.collar_id,
        a.zone_id.as_deref().unwrap_or("-"),
        value(a),
        render::datetime(&a.opened_at),
        when(&a.acknowledged_at),
        when(&a.resolved_at),
        a.resolved_by.as_ref().map(|b| format!(" by {b}")).unwrap_or_default()
    );
    if d.deliveries.is_empty() {
        out += "no deliveries (yet: they start within seconds of the alert opening)\n";
    } else {
        let rows: Vec<Vec<String>> = d.deliveries.iter().map(delivery_row).collect();
        let header = ["EVENT", "CHANNEL", "DESTINATION", "STATUS", "ATTEMPTS", "LAST ERROR", "NEXT ATTEMPT", "UPDATED"];
        out += &render::table(&header, &rows);
    }
    out
}

/// One delivery as a table row.
fn delivery_row(d: &Delivery) -> Vec<String> {
    vec![
        d.event.as_str().to_owned(),
        d.channel.as_str().to_owned(),
        d.destination_id.clone(),
        d.status.as_str().to_owned(),
        d.attempts.to_string(),
        d.last_error.clone().unwrap_or_else(|| "-".into()),
        d.next_attempt_at.as_deref().map(render::datetime).unwrap_or_else(|| "-".into()),
        render::datetime(&d.updated_at),
    ]
}

/// One line of `--watch`: the row, the status as `open → acknowledged` when it changed.
fn watch_line(a: &Alert, was: Option<AlertStatus>) -> String {
    let status = match was {
        Some(before) => format!("{} → {}", before.as_str(), a.status.as_str()),
        None => a.status.as_str().to_owned(),
    };
    let resolved = match (&a.resolved_at, &a.resolved_by) {
        (Some(at), by) => format!(
            "  resolved {}{}",
            render::datetime(at),
            by.as_ref().map(|b| format!(" by {b}")).unwrap_or_default()
        ),
        (None, _) => String::new(),
    };
    format!(
        "{}  {:<23}  {:<26}  {:<10}  {:>9}  {}{resolved}",
        render::datetime(&a.opened_at),
        a.kind.as_str(),
        status,
        a.zone_id.as_deref().unwrap_or("-"),
        value(a),
        a.alert_id
    )
}

/// `182 m`, `39.8 °C`, `12%`: the measured value in its unit.
fn value(a: &Alert) -> String {
    match a.unit.as_str() {
        "°C" => format!("{:.1} °C", a.value),
        "%" => format!("{:.0}%", a.value),
        unit => format!("{:.0} {unit}", a.value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(id: &str, status: &str) -> Alert {
        serde_json::from_value(serde_json::json!({
            "alert_id": id, "type": "zone_exit", "status": status, "collar_id": "DM-000001", "zone_id": "home",
            "opened_at": "2026-12-01T08:00:00.000Z", "value": 182.4, "threshold": 0.0, "unit": "m", "reading": null,
            "acknowledged_at": null, "resolved_at": null, "resolved_by": null
        }))
        .unwrap()
    }

    fn ids<'a>(found: &[(&'a Alert, Option<AlertStatus>)]) -> Vec<(&'a str, Option<AlertStatus>)> {
        found.iter().map(|(a, was)| (a.alert_id.as_str(), *was)).collect()
    }

    #[test]
    fn watch_reports_new_alerts_oldest_first_then_only_status_changes() {
        let mut seen = HashMap::new();
        // Newest first, as the API lists them.
        let first = [alert("b", "open"), alert("a", "acknowledged")];
        assert_eq!(ids(&changes(&mut seen, &first)), [("a", None), ("b", None)]);
        assert!(changes(&mut seen, &first).is_empty(), "the same poll again: nothing new");

        let second = [alert("c", "open"), alert("b", "resolved"), alert("a", "acknowledged")];
        assert_eq!(
            ids(&changes(&mut seen, &second)),
            [("b", Some(AlertStatus::Open)), ("c", None)],
            "b changed, c is new, a is as it was"
        );
        // An alert that drops out of the page (filtered by status, or older) is still known.
        let third = [alert("c", "open")];
        assert!(changes(&mut seen, &third).is_empty());
        assert_eq!(ids(&changes(&mut seen, &[alert("a", "resolved")])), [("a", Some(AlertStatus::Acknowledged))]);
        assert_eq!(seen.len(), 3);
        assert_eq!(seen["a"], AlertStatus::Resolved);
        // One alert on two pages (the list moved between them) is reported once.
        let mut fresh = HashMap::new();
        assert_eq!(ids(&changes(&mut fresh, &[alert("d", "open"), alert("d", "open")])), [("d", None)]);
    }

    #[test]
    fn rows_show_what_was_measured_and_how_it_ended() {
        let mut a = alert("DM-000001.zone_exit.home.1764576000000", "resolved");
        a.resolved_at = Some("2026-12-01T08:30:00.000Z".into());
        a.resolved_by = Some("zone_return".into());
        assert_eq!(
            row(&a),
            [
                "2026-12-01 08:00:00",
                "zone_exit",
                "resolved",
                "home",
                "182 m",
                "2026-12-01 08:30:00",
                "zone_return",
                "DM-000001.zone_exit.home.1764576000000"
            ]
        );
        assert_eq!(
            watch_line(&a, Some(AlertStatus::Open)),
            "2026-12-01 08:00:00  zone_exit                open → resolved             home            182 m  \
             DM-000001.zone_exit.home.1764576000000  resolved 2026-12-01 08:30:00 by zone_return"
        );
        a.unit = "°C".into();
        a.value = 39.84;
        assert_eq!(value(&a), "39.8 °C");
        a.unit = "%".into();
        a.value = 12.0;
        assert_eq!(value(&a), "12%");
        let open = alert("x", "open");
        assert_eq!(row(&open)[5..7], ["-", "-"]);
    }

    #[test]
    fn show_prints_the_alert_and_its_deliveries() {
        let mut detail =
            AlertDetail { alert: alert("DM-000001.zone_exit.home.1764576000000", "acknowledged"), deliveries: vec![] };
        detail.alert.acknowledged_at = Some("2026-12-01T08:05:00.000Z".into());
        assert_eq!(
            show(&detail),
            "DM-000001.zone_exit.home.1764576000000 is acknowledged: zone_exit on DM-000001, zone home, 182 m
opened 2026-12-01 08:00:00, acknowledged 2026-12-01 08:05:00, resolved -
no deliveries (yet: they start within seconds of the alert opening)
"
        );
        detail.deliveries = serde_json::from_value(serde_json::json!([
            {"event": "alert.opened", "channel": "email", "destination_id": "owner", "status": "delivered", "attempts": 1,
             "last_error": null, "next_attempt_at": null, "updated_at": "2026-12-01T08:00:01.000Z"},
            {"event": "alert.opened", "channel": "webhook", "destination_id": "wh_1", "status": "retrying", "attempts": 2,
             "last_error": "http_503", "next_attempt_at": "2026-12-01T08:01:00.000Z", "updated_at": "2026-12-01T08:00:30.000Z"}
        ]))
        .unwrap();
        let text = show(&detail);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[2],
            "EVENT         CHANNEL  DESTINATION  STATUS     ATTEMPTS  LAST ERROR  NEXT ATTEMPT         UPDATED"
        );
        assert_eq!(
            lines[5],
            "alert.opened  webhook  wh_1         retrying   2         http_503    2026-12-01 08:01:00  2026-12-01 08:00:30"
        );
    }
}
