//! `petty ingest`: readings from a file, sent 500 at a time (also how `petty simulate` sends).

use std::path::Path;

use petty_client::types::IngestReport;
use petty_client::{Client, Error};
use serde::Serialize;
use serde_json::{Value, json};

use super::print_json;
use crate::exit::{Exit, Failure, Outcome};

/// What `petty ingest --json` and `petty simulate --json` print: the API's [`IngestReport`]
/// (its fields at the top level) of every batch added up into one, `rejected` and `not_stored`
/// indexed by position among all the readings sent, and `sent`, how many readings were sent
/// (the report accounts for each exactly once).
#[derive(Serialize)]
pub struct IngestOutcome<'a> {
    pub sent: usize,
    #[serde(flatten)]
    pub report: &'a IngestReport,
}

/// `petty ingest --file`.
pub async fn run(c: &Client, file: &Path, json: bool) -> Outcome {
    let readings = read_readings(file)?;
    let report = send_batches(c, &readings, json).await?;
    report_outcome(&report, readings.len(), json)
}

/// Readings from a `.jsonl` or `.csv` file, as JSON objects.
pub fn read_readings(path: &Path) -> Result<Vec<Value>, Failure> {
    let usage = |m: String| Failure::new(Exit::Usage, format!("{}: {m}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| usage(e.to_string()))?;
    let csv = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    if csv {
        let Some((_, header)) = lines.next() else { return Ok(out) };
        let names: Vec<&str> = header.split(',').map(str::trim).collect();
        for need in ["collar_id", "timestamp", "heart_rate", "activity_level", "lon", "lat"] {
            if !names.contains(&need) {
                return Err(usage(format!("CSV header lacks {need}")));
            }
        }
        for (n, line) in lines {
            let cells: Vec<&str> = line.split(',').map(str::trim).collect();
            if cells.len() != names.len() {
                return Err(usage(format!("line {}: {} cells, the header has {}", n + 1, cells.len(), names.len())));
            }
            let mut reading = serde_json::Map::new();
            let (mut lon, mut lat) = (None, None);
            for (name, cell) in names.iter().zip(cells) {
                if cell.is_empty() {
                    continue;
                }
                let number =
                    || cell.parse::<f64>().map_err(|_| usage(format!("line {}: {name} is not a number", n + 1)));
                match *name {
                    "collar_id" | "timestamp" | "firmware" => {
                        reading.insert((*name).into(), json!(cell));
                    }
                    "lon" => lon = Some(number()?),
                    "lat" => lat = Some(number()?),
                    "heart_rate" | "activity_level" => {
                        let v: i64 =
                            cell.parse().map_err(|_| usage(format!("line {}: {name} is not an integer", n + 1)))?;
                        reading.insert((*name).into(), json!(v));
                    }
                    other => {
                        reading.insert(other.into(), json!(number()?));
                    }
                }
            }
            if let (Some(lon), Some(lat)) = (lon, lat) {
                reading.insert("location".into(), json!({"type": "Point", "coordinates": [lon, lat]}));
            }
            out.push(Value::Object(reading));
        }
    } else {
        for (n, line) in lines {
            out.push(serde_json::from_str(line).map_err(|e| usage(format!("line {}: {e}", n + 1)))?);
        }
    }
    if out.is_empty() {
        return Err(usage("no readings".into()));
    }
    Ok(out)
}

/// Sends readings 500 at a time with a progress bar; the reports added up.
pub async fn send_batches(c: &Client, readings: &[Value], json: bool) -> Result<IngestReport, Failure> {
    let bar = if json { indicatif::ProgressBar::hidden() } else { indicatif::ProgressBar::new(readings.len() as u64) };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} readings  {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut total = IngestReport::default();
    for (i, batch) in readings.chunks(petty_client::MAX_BATCH).enumerate() {
        let offset = i * petty_client::MAX_BATCH;
        let report = match c.ingest(batch).await {
            Ok(r) => r,
            Err(Error::Api { status: 503, .. }) => {
                // Not stored in time even after retries: count the batch as not stored.
                IngestReport { not_stored: (0..batch.len()).collect(), ..IngestReport::default() }
            }
            Err(e) => {
                bar.abandon();
                return Err(e.into());
            }
        };
        total.accepted += report.accepted;
        total.duplicates += report.duplicates;
        total.rejected.extend(report.rejected.into_iter().map(|mut r| {
            r.index += offset;
            r
        }));
        total.not_stored.extend(report.not_stored.into_iter().map(|i| i + offset));
        bar.inc(batch.len() as u64);
        bar.set_message(format!("{} accepted, {} duplicates", total.accepted, total.duplicates));
    }
    bar.finish_and_clear();
    Ok(total)
}

/// Prints what happened to `sent` readings; exit 5 if some were not stored, else 6 if some were
/// rejected.
pub fn report_outcome(report: &IngestReport, sent: usize, json: bool) -> Outcome {
    if json {
        print_json(&IngestOutcome { sent, report });
    } else {
        println!(
            "{sent} readings: {} accepted, {} duplicates, {} rejected, {} not stored",
            report.accepted,
            report.duplicates,
            report.rejected.len(),
            report.not_stored.len()
        );
        for r in report.rejected.iter().take(10) {
            println!("  reading {}: {} ({})", r.index, r.message, r.reason);
        }
        if report.rejected.len() > 10 {
            println!("  ... and {} more (--json lists them all)", report.rejected.len() - 10);
        }
    }
    if !report.not_stored.is_empty() {
        return Err(Failure::new(Exit::Unavailable, "some readings were not stored: sending them again is safe"));
    }
    if !report.rejected.is_empty() {
        return Err(Failure::new(Exit::Rejected, format!("{} readings rejected", report.rejected.len())));
    }
    Ok(())
}
