//! The device-identity path in template.yaml: what a collar's certificate may do (the IoT
//! policy, evaluated for real topics and client ids), how the topic rule names the collar
//! (`topic(4)` of the topic, the field the stream function trusts), and the rule's role and
//! the queue policy (nothing but delivery to the two readings queues).

use super::operations::is_ref;
use super::*;

const STAGE: &str = "dev";
const REGION: &str = "eu-west-1";
const ACCOUNT: &str = "123456789012";

/// A `!Sub` string with the stack's pseudo parameters and stage filled in; `${!x}` is the
/// literal `${x}` (an IoT policy variable).
fn sub(value: &Yaml) -> String {
    sub_text(value, STAGE)
        .replace("${AWS::Partition}", "aws")
        .replace("${AWS::Region}", REGION)
        .replace("${AWS::AccountId}", ACCOUNT)
        .replace("${!", "${")
}

/// The resources the collar policy allows `action` on, for a connection as `thing`.
fn allowed(t: &Yaml, action: &str, thing: &str) -> Vec<String> {
    let doc = &t["Resources"]["CollarPolicy"]["Properties"]["PolicyDocument"];
    let mut out = Vec::new();
    for st in doc["Statement"].as_sequence().unwrap() {
        assert_eq!(st["Effect"].as_str(), Some("Allow"));
        if strings(&st["Action"]).iter().any(|a| a == action) {
            for r in list(&st["Resource"]) {
                out.push(sub(&r).replace("${iot:Connection.Thing.ThingName}", thing));
            }
        }
    }
    out
}

fn may_publish(t: &Yaml, thing: &str, topic: &str) -> bool {
    let arn = format!("arn:aws:iot:{REGION}:{ACCOUNT}:topic/{topic}");
    allowed(t, "iot:Publish", thing).contains(&arn)
}

fn may_connect(t: &Yaml, thing: &str, client_id: &str) -> bool {
    let arn = format!("arn:aws:iot:{REGION}:{ACCOUNT}:client/{client_id}");
    allowed(t, "iot:Connect", thing).contains(&arn)
}

#[test]
fn a_collar_may_connect_only_as_itself_and_publish_only_its_own_readings() {
    let t = template();
    let own = "petty/dev/collars/AB-123456/readings";
    assert!(may_publish(&t, "AB-123456", own));
    for (thing, topic) in [
        ("AB-123456", "petty/dev/collars/CD-654321/readings"), // another collar's topic
        ("AB-123456", "petty/dev/collars/AB-123456/commands"), // another topic of its own
        ("AB-123456", "petty/prod/collars/AB-123456/readings"), // another stage
        ("AB-123456", "petty/dev/collars/+/readings"),         // a wildcard is not a topic
        ("CD-654321", own),                                    // someone else's readings
    ] {
        assert!(!may_publish(&t, thing, topic), "{thing} must not publish to {topic}");
    }
    assert!(may_connect(&t, "AB-123456", "AB-123456"));
    assert!(!may_connect(&t, "AB-123456", "CD-654321"), "no connecting under another collar's client id");
    let connect = t["Resources"]["CollarPolicy"]["Properties"]["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| strings(&s["Action"]) == ["iot:Connect"])
        .unwrap();
    assert_eq!(connect["Condition"]["Bool"]["iot:Connection.Thing.IsAttached"].as_str(), Some("true"));
    for action in ["iot:Subscribe", "iot:Receive", "iot:UpdateThingShadow", "iot:*"] {
        assert!(allowed(&t, action, "AB-123456").is_empty(), "{action} is not granted");
    }
}

/// The topic filter matches `topic` (MQTT: `+` one level, `#` the rest).
fn matches_filter(filter: &str, topic: &str) -> bool {
    let (f, t): (Vec<&str>, Vec<&str>) = (filter.split('/').collect(), topic.split('/').collect());
    if f.last() == Some(&"#") {
        return t.len() >= f.len() - 1 && f[..f.len() - 1].iter().zip(&t).all(|(a, b)| *a == "+" || a == b);
    }
    f.len() == t.len() && f.iter().zip(&t).all(|(a, b)| *a == "+" || a == b)
}

#[test]
fn the_topic_rule_names_the_collar_from_its_topic_for_the_stream() {
    let t = template();
    let rule = &t["Resources"]["ReadingsTopicRule"]["Properties"]["TopicRulePayload"];
    let sql = sub(&rule["Sql"]);
    // SELECT *, topic(N) AS <field> FROM '<filter>'
    let (select, from) = sql.split_once(" FROM ").unwrap();
    let filter = from.trim().trim_matches('\'');
    let (_, topic_part) = select.split_once("topic(").expect("the collar comes from topic()");
    let (n, alias) = topic_part.split_once(')').unwrap();
    let n: usize = n.parse().unwrap();
    let field = alias.trim().strip_prefix("AS ").unwrap().trim();
    assert_eq!(field, petty_stream::RULE_IDENTITY_FIELD, "the field the stream trusts");
    assert!(select.starts_with("SELECT *"), "the reading itself is the payload: {sql}");
    // On a collar's own topic, topic(n) is its thing name; the filter takes no other topic.
    let topic = "petty/dev/collars/AB-123456/readings";
    assert!(matches_filter(filter, topic), "{filter}");
    assert_eq!(topic.split('/').nth(n - 1), Some("AB-123456"));
    for other in ["petty/prod/collars/AB-123456/readings", "petty/dev/collars/AB-123456/x", "petty/dev/readings"] {
        assert!(!matches_filter(filter, other), "{other}");
    }
    // Delivered to the readings queue; what fails to deliver goes to the dead-letter queue.
    assert!(is_ref(&rule["Actions"][0]["Sqs"]["QueueUrl"], "ReadingsQueue"));
    assert!(is_ref(&rule["ErrorAction"]["Sqs"]["QueueUrl"], "ReadingsDeadLetterQueue"));
    assert_eq!(rule["Actions"][0]["Sqs"]["UseBase64"].as_bool(), Some(false), "the stream reads plain JSON");
}

#[test]
fn the_rules_role_and_the_queue_policy_allow_delivery_and_nothing_else() {
    let t = template();
    let role = &t["Resources"]["ReadingsRuleRole"]["Properties"];
    let trust = &role["AssumeRolePolicyDocument"]["Statement"][0];
    assert_eq!(trust["Principal"]["Service"].as_str(), Some("iot.amazonaws.com"));
    assert!(trust["Condition"]["StringEquals"].get("aws:SourceAccount").is_some(), "no confused deputy");
    let queues = |v: &Yaml| -> Vec<String> {
        list(v)
            .iter()
            .map(|r| match r {
                Yaml::Tagged(tag) => tag.value.as_str().unwrap().trim_end_matches(".Arn").to_owned(),
                other => panic!("{other:?}"),
            })
            .collect()
    };
    let want = vec!["ReadingsQueue".to_owned(), "ReadingsDeadLetterQueue".to_owned()];
    let statements: Vec<&Yaml> = role["Policies"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|p| p["PolicyDocument"]["Statement"].as_sequence().unwrap())
        .collect();
    assert_eq!(statements.len(), 1);
    assert_eq!(strings(&statements[0]["Action"]), ["sqs:SendMessage"]);
    assert_eq!(queues(&statements[0]["Resource"]), want);
    let policy = &t["Resources"]["ReadingsQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"][0];
    assert_eq!(strings(&policy["Action"]), ["sqs:SendMessage"]);
    let Yaml::Tagged(principal) = &policy["Principal"]["AWS"] else { panic!("the rule's role") };
    assert_eq!(principal.value.as_str(), Some("ReadingsRuleRole.Arn"));
    assert_eq!(queues(&policy["Resource"]), want);
}
