//! Operations: alarms and the dashboard.

use super::*;

// ------------------------------------------------------------------------------------------
// Operations: every function, table, dead-letter queue and the API have their alarms (named for
// the health function's prefix, with dimensions and actions) and their dashboard widgets.

pub(super) fn is_ref(v: &Yaml, logical: &str) -> bool {
    matches!(v, Yaml::Tagged(tag) if tag.tag == "!Ref" && tag.value.as_str() == Some(logical))
}

/// The dimension `name` of an alarm or of any MetricStat in its Metrics.
pub(super) fn alarm_dimensions(alarm: &Yaml) -> Vec<(String, Yaml)> {
    let p = &alarm["Properties"];
    let mut dims: Vec<Yaml> = list(&p["Dimensions"]);
    for m in list(&p["Metrics"]) {
        dims.extend(list(&m["MetricStat"]["Metric"]["Dimensions"]));
    }
    dims.iter().map(|d| (d["Name"].as_str().unwrap().to_owned(), d["Value"].clone())).collect()
}

pub(super) fn alarm_metric_names(alarm: &Yaml) -> Vec<String> {
    let p = &alarm["Properties"];
    let mut names: Vec<String> = p["MetricName"].as_str().map(str::to_owned).into_iter().collect();
    for m in list(&p["Metrics"]) {
        names.extend(m["MetricStat"]["Metric"]["MetricName"].as_str().map(str::to_owned));
        names.extend(m["Expression"].as_str().map(str::to_owned));
        if let Yaml::Tagged(tag) = &m["Expression"] {
            names.extend(tag.value.as_str().map(str::to_owned));
        }
    }
    names
}

/// The dashboard body as JSON, every `${X}` replaced by `X`.
pub(super) fn dashboard() -> serde_json::Value {
    let t = template();
    let boards = resources(&t, "AWS::CloudWatch::Dashboard");
    assert_eq!(boards.len(), 1, "one dashboard");
    let Yaml::Tagged(body) = &boards[0].1["Properties"]["DashboardBody"] else { panic!("DashboardBody: !Sub |") };
    let mut text = body.value.as_str().unwrap().to_owned();
    while let Some(start) = text.find("${") {
        let end = start + text[start..].find('}').unwrap();
        let name = text[start + 2..end].to_owned();
        text.replace_range(start..=end, &name);
    }
    serde_json::from_str(&text).expect("the dashboard body is JSON")
}

pub(super) fn function_timeout(t: &Yaml, f: &Yaml) -> u64 {
    f["Properties"]["Timeout"].as_u64().or_else(|| t["Globals"]["Function"]["Timeout"].as_u64()).unwrap()
}

#[test]
fn every_alarm_is_named_for_the_stage_has_dimensions_and_notifies() {
    let t = template();
    let alarms = resources(&t, "AWS::CloudWatch::Alarm");
    assert!(alarms.len() >= 10);
    for (name, alarm) in &alarms {
        let p = &alarm["Properties"];
        let alarm_name = sub_text(&p["AlarmName"], "STAGE");
        assert!(alarm_name.starts_with("petty-STAGE-"), "{name}: AlarmName must start with petty-${{Stage}}-");
        assert!(!list(&p["AlarmActions"]).is_empty() && !list(&p["OKActions"]).is_empty(), "{name}: notifies");
        let queries_filtered = list(&p["Metrics"]).iter().any(|m| match &m["Expression"] {
            Yaml::Tagged(tag) => tag.value.as_str().is_some_and(|q| q.contains("SELECT") && q.contains("WHERE")),
            _ => false,
        });
        assert!(
            !alarm_dimensions(alarm).is_empty() || queries_filtered,
            "{name}: an alarm without dimensions watches the account"
        );
        for m in list(&p["Metrics"]) {
            let stat = &m["MetricStat"]["Metric"];
            assert!(
                stat.is_null() || !list(&stat["Dimensions"]).is_empty(),
                "{name}: metric {:?} without dimensions",
                m["Id"]
            );
        }
    }
    let mut names: Vec<String> = alarms.iter().map(|(_, a)| sub_text(&a["Properties"]["AlarmName"], "s")).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), alarms.len(), "alarm names are unique");
}

#[test]
fn every_function_has_its_alarms_and_dashboard_row() {
    let t = template();
    let alarms = resources(&t, "AWS::CloudWatch::Alarm");
    let board = dashboard().to_string();
    for (name, f) in resources(&t, "AWS::Serverless::Function") {
        let timeout_ms = function_timeout(&t, f) * 1000;
        let of_function: Vec<&Yaml> = alarms
            .iter()
            .filter(|(_, a)| alarm_dimensions(a).iter().any(|(d, v)| d == "FunctionName" && is_ref(v, name)))
            .map(|(_, a)| *a)
            .collect();
        let by_metric =
            |metric: &str| of_function.iter().find(|a| a["Properties"]["MetricName"].as_str() == Some(metric));
        assert!(by_metric("Errors").is_some(), "{name}: an Errors alarm");
        assert!(by_metric("Throttles").is_some(), "{name}: a Throttles alarm");
        let duration =
            by_metric("Duration").unwrap_or_else(|| panic!("{name}: a Duration alarm"))["Properties"].clone();
        assert_eq!(duration["ExtendedStatistic"].as_str(), Some("p99"), "{name}: p99 duration");
        assert_eq!(
            duration["Threshold"].as_u64(),
            Some(timeout_ms * 8 / 10),
            "{name}: p99 against 80 % of its timeout"
        );
        for metric in ["\"Invocations\"", "\"Errors\"", "\"Throttles\"", "\"Duration\"", "\"ColdStart\""] {
            let row = format!("{metric},\"FunctionName\",\"{name}\"");
            let emf = format!("{metric},\"service\"");
            assert!(
                board.contains(&row)
                    || (board.contains(&emf) && board.contains(&format!("\"function_name\",\"{name}\""))),
                "{name}: the dashboard shows its {metric}"
            );
        }
        assert!(
            board.contains(&format!("\"timeout {} s\"", timeout_ms / 1000)),
            "{name}: duration graph marks its timeout"
        );
        // Its own log group, with retention.
        let logs = &f["Properties"]["LoggingConfig"]["LogGroup"];
        let group = resources(&t, "AWS::Logs::LogGroup").into_iter().find(|(l, _)| is_ref(logs, l));
        let (_, group) =
            group.unwrap_or_else(|| panic!("{name}: LoggingConfig.LogGroup is one of the stack's log groups"));
        assert!(is_ref(&group["Properties"]["RetentionInDays"], "LogRetentionDays"), "{name}: log retention");
        // A queue it consumes stays invisible for six timeouts (Lambda's SQS guidance).
        for (_, event) in f["Properties"]["Events"].as_mapping().into_iter().flatten() {
            if event["Type"].as_str() == Some("SQS") {
                let Yaml::Tagged(q) = &event["Properties"]["Queue"] else { panic!("Queue: !GetAtt X.Arn") };
                let queue = q.value.as_str().unwrap().trim_end_matches(".Arn");
                let visibility = t["Resources"][queue]["Properties"]["VisibilityTimeout"].as_u64().unwrap();
                assert!(
                    visibility >= 6 * timeout_ms / 1000,
                    "{queue}: VisibilityTimeout {visibility} < 6 x {name}'s timeout"
                );
            }
        }
    }
}

#[test]
fn every_table_dead_letter_queue_and_the_api_have_alarms() {
    let t = template();
    let alarms = resources(&t, "AWS::CloudWatch::Alarm");
    let watching = |dimension: &str, pred: &dyn Fn(&Yaml) -> bool| {
        alarms.iter().any(|(_, a)| alarm_dimensions(a).iter().any(|(d, v)| d == dimension && pred(v)))
    };
    let board = dashboard().to_string();
    for (table, _) in resources(&t, "AWS::DynamoDB::Table") {
        assert!(watching("TableName", &|v| is_ref(v, table)), "{table}: a throttling alarm");
        assert!(board.contains(&format!("\"TableName\",\"{table}\"")), "{table}: on the dashboard");
    }
    for (queue, q) in resources(&t, "AWS::SQS::Queue") {
        let Some(Yaml::Tagged(dlq)) = q["Properties"]["RedrivePolicy"].get("deadLetterTargetArn") else { continue };
        let dlq = dlq.value.as_str().unwrap().trim_end_matches(".Arn").to_owned();
        let by_name =
            |v: &Yaml| matches!(v, Yaml::Tagged(tag) if tag.value.as_str() == Some(&format!("{dlq}.QueueName")));
        assert!(watching("QueueName", &by_name), "{queue}'s dead-letter queue {dlq}: a depth alarm");
    }
    for metric in ["5xx", "Latency"] {
        assert!(
            alarms.iter().any(|(_, a)| alarm_metric_names(a).iter().any(|m| m == metric)
                && alarm_dimensions(a).iter().any(|(d, v)| d == "ApiId" && is_ref(v, "HttpApi"))),
            "an API {metric} alarm"
        );
    }
    // The EMF metrics the alarms and the dashboard read are the ones the code emits.
    let emitted = std::fs::read_to_string(repo_root().join("shared/src/ingest.rs")).unwrap();
    for metric in ["ReadingsAccepted", "ReadingsRejected"] {
        assert!(emitted.contains(&format!("\"{metric}\"")), "ingestion (both paths) emits {metric}");
        assert!(alarms.iter().any(|(_, a)| alarm_metric_names(a).iter().any(|m| m.contains(metric))), "{metric} alarm");
        assert!(board.contains(metric), "{metric} on the dashboard");
    }
    // The notifier's delivery metrics (dimension `channel` beside service and function_name).
    let notifier: String =
        sources_under("functions/notifier/src").iter().map(|s| s.code.as_str()).collect::<Vec<_>>().join("\n");
    for metric in ["DeliveriesSent", "DeliveriesFailed", "DeliveryRetries"] {
        assert!(notifier.contains(&format!("\"{metric}\"")), "the notifier emits {metric}");
        assert!(board.contains(metric), "{metric} on the dashboard");
    }
    assert!(notifier.contains("\"channel\""), "the delivery metrics' `channel` dimension the template reads");
    assert!(
        alarms.iter().any(|(_, a)| alarm_metric_names(a).iter().any(|m| m.contains("DeliveriesFailed"))),
        "a DeliveriesFailed alarm"
    );
    let metrics_rs = std::fs::read_to_string(repo_root().join("shared/src/metrics.rs")).unwrap();
    assert!(metrics_rs.contains("NAMESPACE: &str = \"Petty\""), "the EMF namespace the template reads");
    assert!(board.contains("BehaviorAccuracy") && board.contains("behavior"), "behaviour accuracy on the dashboard");
}

#[test]
fn every_stream_mapping_has_an_on_failure_queue_with_its_alarms() {
    // A stream record the function cannot handle is retried, then handed to the mapping's
    // on-failure destination: that queue is watched, and so is how far behind the function is.
    let t = template();
    let alarms = resources(&t, "AWS::CloudWatch::Alarm");
    let mut mappings = 0;
    for (name, f) in resources(&t, "AWS::Serverless::Function") {
        for (event, e) in f["Properties"]["Events"].as_mapping().into_iter().flatten() {
            if e["Type"].as_str() != Some("DynamoDB") {
                continue;
            }
            mappings += 1;
            let event = event.as_str().unwrap();
            let p = &e["Properties"];
            assert_eq!(p["FunctionResponseTypes"][0].as_str(), Some("ReportBatchItemFailures"), "{name}.{event}");
            assert!(p["MaximumRetryAttempts"].as_u64().is_some_and(|n| n <= 10), "{name}.{event}: bounded retries");
            let Yaml::Tagged(dest) = &p["DestinationConfig"]["OnFailure"]["Destination"] else {
                panic!("{name}.{event}: an on-failure destination (!GetAtt Queue.Arn)")
            };
            let queue = dest.value.as_str().unwrap().trim_end_matches(".Arn");
            assert!(
                alarms.iter().any(|(_, a)| alarm_dimensions(a).iter().any(|(d, v)| d == "QueueName"
                    && matches!(v, Yaml::Tagged(tag) if tag.value.as_str() == Some(&format!("{queue}.QueueName"))))),
                "{name}.{event}: a depth alarm on {queue}"
            );
            assert!(
                alarms.iter().any(|(_, a)| a["Properties"]["MetricName"].as_str() == Some("IteratorAge")
                    && alarm_dimensions(a).iter().any(|(d, v)| d == "FunctionName" && is_ref(v, name))),
                "{name}: an IteratorAge alarm"
            );
        }
    }
    assert!(mappings >= 2, "the evaluator's readings stream and the notifier's alerts stream");
}

#[test]
fn the_notifier_sees_every_alert_item_change_and_nothing_else() {
    // The stream carries both images (a resolution is told from the old one), and the
    // mapping's filter keeps the alert items' inserts and updates: their sort key prefix is
    // the one the alerts table module writes.
    let t = template();
    let spec = &t["Resources"]["AlertsTable"]["Properties"]["StreamSpecification"];
    assert_eq!(spec["StreamViewType"].as_str(), Some("NEW_AND_OLD_IMAGES"));
    let events = &t["Resources"]["NotifierFunction"]["Properties"]["Events"];
    let stream = events.as_mapping().unwrap().values().find(|e| e["Type"].as_str() == Some("DynamoDB")).unwrap();
    let Yaml::Tagged(arn) = &stream["Properties"]["Stream"] else { panic!("Stream: !GetAtt AlertsTable.StreamArn") };
    assert_eq!(arn.value.as_str(), Some("AlertsTable.StreamArn"));
    let filters = list(&stream["Properties"]["FilterCriteria"]["Filters"]);
    assert_eq!(filters.len(), 1);
    let pattern: serde_json::Value = serde_json::from_str(filters[0]["Pattern"].as_str().unwrap()).unwrap();
    assert_eq!(pattern["eventName"], serde_json::json!(["INSERT", "MODIFY"]), "no REMOVE (TTL expiry)");
    let prefix = pattern["dynamodb"]["Keys"]["sk"]["S"][0]["prefix"].as_str().unwrap();
    let alerts_rs = std::fs::read_to_string(repo_root().join("shared/src/tables/alerts.rs")).unwrap();
    assert!(
        alerts_rs.contains(&format!("const ALERT_PREFIX: &str = \"{prefix}\";")),
        "alert items' sk prefix {prefix}"
    );
    // And the queue mapping answers partial failures too.
    let queue = events.as_mapping().unwrap().values().find(|e| e["Type"].as_str() == Some("SQS")).unwrap();
    assert_eq!(queue["Properties"]["FunctionResponseTypes"][0].as_str(), Some("ReportBatchItemFailures"));
}
