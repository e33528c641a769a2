#!/usr/bin/env python3
"""Local AWS for Petty: seed moto from template.yaml and write the functions' environment.

    local_aws.py seed --endpoint URL [--stage dev] [--env-file .dev.env] [--function-endpoint URL]
                      [--public-base-url http://127.0.0.1:9000] [--queue-visibility S]

Reads every AWS::DynamoDB::Table, AWS::SecretsManager::Secret and AWS::SQS::Queue that
template.yaml declares and creates it in moto (idempotently), generating a fresh RSA key set
for the JWT secrets. For the notifier it verifies the e-mail sender identity (AlertEmailSender)
in moto's SES and creates an APNs and an FCM platform application in moto's SNS
(petty-<stage>-apns / petty-<stage>-fcm, fake credentials). Then resolves the functions'
environment variables (Globals + each function) against what it created and writes them as
KEY=VALUE lines for `cargo lambda watch --env-file`, with the local stack's own values where
the template's cannot hold locally:

  - <TABLE>_STREAM_ARN of each table with a stream (READINGS_STREAM_ARN, ALERTS_STREAM_ARN),
    READINGS_QUEUE_URL / READINGS_DLQ_URL: for the local stand-ins of the event source
    mappings (tools/readings_stream_poller.py, tools/queue_poller.py);
  - WEBHOOK_ALLOW_LOOPBACK=true (the template's "false"): local receivers on
    http://127.0.0.1:<port> get deliveries (tools/webhook_receiver.py);
  - PUBLIC_BASE_URL=--public-base-url (the template's API Gateway URL; default
    http://127.0.0.1:9000), e.g. for the e-mails' unsubscribe links;
  - APNS_PLATFORM_APP_ARN / FCM_PLATFORM_APP_ARN: the two moto platform applications (the
    template's parameters default to "", no push);
  - the AWS endpoint, region and test credentials, CORS "*", a 10 s secret cache.

`inbox --endpoint URL --to EMAIL --subject TEXT` prints the token (`Token: ...` line) of the
newest e-mail moto's SES sent to EMAIL with TEXT in its subject: the local stack's inbox, read as
a user reads theirs (tools/cli_journey.sh, tools/demo.py).

The same key-set code serves `keys` for a deployed stack (no --endpoint): it generates a new
key, makes it current and keeps the previous one, in both secrets.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import sys
import time
from pathlib import Path

import boto3
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"


# --------------------------------------------------------------------------- template
class CfnLoader(yaml.SafeLoader):
    """YAML loader that keeps CloudFormation short-form tags as {"Fn::X": value}."""


def _cfn_tag(loader, tag_suffix, node):
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if name == "Fn::GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {name: value}


CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_template(path: Path) -> dict:
    with open(path) as f:
        return yaml.load(f, Loader=CfnLoader)


def resources_of(template: dict, kind: str) -> dict:
    return {k: v for k, v in template.get("Resources", {}).items() if v.get("Type") == kind}


class Resolver:
    """Resolves the intrinsic functions Petty's template uses, for the local stack. A !Ref of
    a table or a secret resolves to its name, of a queue to its URL (as CloudFormation does),
    once created; !If evaluates the template's Conditions on the parameters' defaults."""

    def __init__(self, template: dict, stage: str):
        self.params = {k: str(v.get("Default", "")) for k, v in template.get("Parameters", {}).items()}
        self.params["Stage"] = stage
        self.params.update({"AWS::Region": REGION, "AWS::AccountId": "123456789012", "AWS::URLSuffix": "amazonaws.com",
                            "AWS::Partition": "aws"})
        self.conditions = template.get("Conditions", {}) or {}
        self.physical: dict[str, str] = {}

    def condition(self, value) -> bool:
        """A condition expression (Fn::Equals/Not/And/Or, Condition) on the parameters."""
        if isinstance(value, dict) and len(value) == 1:
            (key, arg), = value.items()
            if key == "Condition":
                if arg not in self.conditions:
                    raise KeyError(f"no condition {arg}")
                return self.condition(self.conditions[arg])
            if key == "Fn::Equals":
                return str(self(arg[0])) == str(self(arg[1]))
            if key == "Fn::Not":
                return not self.condition(arg[0])
            if key == "Fn::And":
                return all(self.condition(a) for a in arg)
            if key == "Fn::Or":
                return any(self.condition(a) for a in arg)
        raise KeyError(f"cannot evaluate condition {value!r} locally")

    def __call__(self, value):
        if isinstance(value, dict) and len(value) == 1:
            (key, arg), = value.items()
            if key == "Fn::If":
                name, yes, no = arg
                return self(yes if self.condition({"Condition": name}) else no)
            if key == "Ref":
                if arg in self.physical:
                    return self.physical[arg]
                if arg in self.params:
                    return self.params[arg]
                raise KeyError(f"cannot resolve !Ref {arg} locally")
            if key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                for name, val in {**self.params, **self.physical}.items():
                    text = text.replace("${" + name + "}", val)
                if "${" in text:
                    raise KeyError(f"cannot resolve !Sub {arg!r} locally")
                return text
            if key == "Fn::Join":
                sep, parts = arg
                return sep.join(str(self(p)) for p in parts)
        if isinstance(value, (int, float, bool)):
            return str(value).lower() if isinstance(value, bool) else str(value)
        return value


# --------------------------------------------------------------------------- key sets
def _b64(n: int) -> str:
    return base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()


def jwk_of(kid: str, private_pem: str) -> dict:
    """The public JWK of a PKCS#8 private key."""
    public = serialization.load_pem_private_key(private_pem.encode(), None).public_key().public_numbers()
    return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": _b64(public.n), "e": _b64(public.e)}


def new_key(kid: str) -> dict:
    """A fresh RSA-2048 signing entry: {"kid", "private_key_pem"}."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return {"kid": kid, "private_key_pem": pem.decode()}


def rotated_key_sets(previous_signing: dict | None) -> tuple[str, str, str]:
    """A new current key plus the previous current one: (kid, signing JSON, JWKS JSON)."""
    kid = time.strftime("k%Y%m%d%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)
    keys = [new_key(kid)]
    if previous_signing:
        current = previous_signing.get("current_kid")
        keys += [k for k in previous_signing.get("keys", []) if k["kid"] == current]
    jwks = [jwk_of(k["kid"], k["private_key_pem"]) for k in keys]
    return kid, json.dumps({"current_kid": kid, "keys": keys}), json.dumps({"keys": jwks})


# --------------------------------------------------------------------------- seeding
def client(service: str, endpoint: str | None):
    """moto at `endpoint`, or (no endpoint) AWS with the caller's own credentials and region
    (AWS_PROFILE, AWS_REGION...), so `make keys STAGE=...` reaches the region the stack is in."""
    # boto3 reads AWS_DEFAULT_REGION and the profile's region, not AWS_REGION: honour both.
    kwargs = {"region_name": os.environ.get("AWS_REGION") or None}
    if endpoint:
        kwargs.update(region_name=REGION, endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test")
    return boto3.client(service, **kwargs)


def create_tables(template: dict, resolve: Resolver, endpoint: str) -> list[str]:
    ddb = client("dynamodb", endpoint)
    existing = set(ddb.list_tables().get("TableNames", []))
    names = []
    for logical, res in resources_of(template, "AWS::DynamoDB::Table").items():
        props = res["Properties"]
        name = resolve(props["TableName"])
        resolve.physical[logical] = name
        names.append(name)
        if name in existing:
            continue
        args = {
            "TableName": name,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": "PAY_PER_REQUEST",
        }
        if props.get("GlobalSecondaryIndexes"):
            args["GlobalSecondaryIndexes"] = [
                {k: v for k, v in gsi.items() if k in ("IndexName", "KeySchema", "Projection")} for gsi in props["GlobalSecondaryIndexes"]
            ]
        if props.get("StreamSpecification"):
            args["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": props["StreamSpecification"]["StreamViewType"]}
        ddb.create_table(**args)
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True})
    return names


def create_secrets(template: dict, resolve: Resolver, endpoint: str) -> list[str]:
    sm = client("secretsmanager", endpoint)
    declared = resources_of(template, "AWS::SecretsManager::Secret")
    names = {}
    for logical, res in declared.items():
        name = resolve(res["Properties"]["Name"])
        resolve.physical[logical] = name
        names[logical] = name
    _, signing, jwks = rotated_key_sets(None)
    for logical, res in declared.items():
        name = names[logical]
        if logical == "SigningKeysSecret":
            value = signing
        elif logical == "PublicKeysSecret":
            value = jwks
        elif "GenerateSecretString" in res["Properties"]:
            value = secrets.token_urlsafe(48)
        else:
            raise SystemExit(f"don't know how to fill secret {logical} locally")
        try:
            sm.create_secret(Name=name, SecretString=value)
        except sm.exceptions.ResourceExistsException:
            sm.put_secret_value(SecretId=name, SecretString=value)
    return list(names.values())


def create_iot_and_queues(template: dict, resolve: Resolver, endpoint: str) -> dict[str, str]:
    """The collar IoT policy (so certificates can be attached to it) and the readings queues
    with their redrive policy, as the template declares them. The topic rule itself has no
    local twin (moto stores rules but runs no MQTT broker): tools/queue_poller.py and
    tools/queue_publish.py stand in for the rule and the event source mapping."""
    iot, sqs = client("iot", endpoint), client("sqs", endpoint)
    out = {}
    for logical, res in resources_of(template, "AWS::IoT::Policy").items():
        name = resolve(res["Properties"]["PolicyName"])
        resolve.physical[logical] = name
        try:
            iot.create_policy(policyName=name, policyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}]}))
        except iot.exceptions.ResourceAlreadyExistsException:
            pass
    queues = resources_of(template, "AWS::SQS::Queue")
    # Dead-letter queues first: the others' redrive policy names them.
    for logical, res in sorted(queues.items(), key=lambda kv: "RedrivePolicy" in kv[1]["Properties"]):
        props = res["Properties"]
        name = resolve(props["QueueName"])
        visibility = getattr(resolve, "queue_visibility", None) or props.get("VisibilityTimeout", 30)
        attrs = {"VisibilityTimeout": str(visibility)}
        if "RedrivePolicy" in props:
            target = props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
            attrs["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": out[target + ".Arn"],
                                                 "maxReceiveCount": props["RedrivePolicy"]["maxReceiveCount"]})
        url = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        resolve.physical[logical] = url
        out[logical] = url
        out[logical + ".Arn"] = arn
    return {k: v for k, v in out.items() if not k.endswith(".Arn")}


def create_buckets(template: dict, resolve: Resolver, endpoint: str) -> list[str]:
    """The template's S3 buckets (the account exports), idempotently. Their lifecycle and
    encryption are the deployed stack's; locally the tests delete what they wrote."""
    s3 = client("s3", endpoint)
    names = []
    for logical, res in resources_of(template, "AWS::S3::Bucket").items():
        name = resolve(res["Properties"]["BucketName"])
        resolve.physical[logical] = name
        try:
            s3.create_bucket(Bucket=name)
        except (s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
            pass
        names.append(name)
    return names


def grant_scope(args) -> None:
    """Grants a scope (e.g. `admin`) to an account, audited: how an operator gets the
    operators' routes. Takes effect at the account's next login."""
    ddb = client("dynamodb", args.endpoint)
    template = load_template(Path(args.template))
    resolve = Resolver(template, args.stage)
    users = resolve(template["Resources"]["UsersTable"]["Properties"]["TableName"])
    audit = resolve(template["Resources"]["AuditTable"]["Properties"]["TableName"])
    email = args.email.strip().lower()
    item = ddb.get_item(TableName=users, Key={"pk": {"S": f"EMAIL#{email}"}}, ConsistentRead=True).get("Item")
    if not item:
        raise SystemExit(f"no account {email}")
    user_id = item["user_id"]["S"]
    scopes = [v["S"] for v in item.get("scopes", {}).get("L", [])]
    if args.scope not in scopes:
        for pk in (f"EMAIL#{email}", f"USER#{user_id}"):
            ddb.update_item(TableName=users, Key={"pk": {"S": pk}}, UpdateExpression="SET scopes = list_append(scopes, :s)",
                            ExpressionAttributeValues={":s": {"L": [{"S": args.scope}]}})
    now = int(time.time())
    ddb.put_item(TableName=audit, Item={
        "user_id": {"S": user_id}, "sk": {"S": f"{now * 1000:013d}#000000#{secrets.token_hex(4)}"},
        "action": {"S": "scope_granted"}, "outcome": {"S": "success"}, "at": {"N": str(now)},
        "detail": {"S": f"{args.scope} by {os.environ.get('USER', 'operator')}"},
        "expires_at": {"N": str(now + 90 * 86400)}})
    print(json.dumps({"user_id": user_id, "email": email, "scope": args.scope, "already": args.scope in scopes}))


def function_env(template: dict, resolve: Resolver, local: dict[str, str] | None = None) -> dict[str, str]:
    """The union of every function's environment, resolved for the local stack. A name in
    `local` takes the local stack's value for every function that has it, unresolved (its
    template value may name what has no local twin, e.g. the API Gateway URL)."""
    local = local or {}
    base = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    env: dict[str, str] = {}
    for logical, res in resources_of(template, "AWS::Serverless::Function").items():
        own = res.get("Properties", {}).get("Environment", {}).get("Variables", {})
        for key, value in {**base, **own}.items():
            resolved = local[key] if key in local else str(resolve(value))
            if key in env and env[key] != resolved:
                raise SystemExit(f"{logical}: {key} differs between functions; one local endpoint cannot serve both")
            env[key] = resolved
    return env


def table_env_prefix(logical: str) -> str:
    """ReadingsTable -> READINGS, AlertsTable -> ALERTS, TimelineEventsTable -> TIMELINE_EVENTS."""
    name = logical[:-len("Table")] if logical.endswith("Table") else logical
    return "".join(("_" + c if c.isupper() and i else c) for i, c in enumerate(name)).upper()


def stream_arns(template: dict, resolve: Resolver, endpoint: str) -> dict[str, str]:
    """<TABLE>_STREAM_ARN of every table the template gives a stream, for the local stand-ins
    of the DynamoDB event source mappings (tools/readings_stream_poller.py)."""
    ddb = client("dynamodb", endpoint)
    out = {}
    for logical, res in resources_of(template, "AWS::DynamoDB::Table").items():
        if not res["Properties"].get("StreamSpecification"):
            continue
        table = ddb.describe_table(TableName=resolve.physical[logical])["Table"]
        if "LatestStreamArn" not in table:  # created by an earlier seed, before the template had a stream
            view = res["Properties"]["StreamSpecification"]["StreamViewType"]
            table = ddb.update_table(TableName=table["TableName"], StreamSpecification={
                "StreamEnabled": True, "StreamViewType": view})["TableDescription"]
        out[f"{table_env_prefix(logical)}_STREAM_ARN"] = table["LatestStreamArn"]
    return out


def create_email_identity(sender: str | None, endpoint: str) -> str | None:
    """The notifier's sender (EMAIL_SENDER, the parameter AlertEmailSender) as a verified
    identity in moto's SES, so its SendEmail calls succeed (moto rejects an unverified Source,
    as SES does)."""
    if not sender:
        return None
    client("ses", endpoint).verify_email_identity(EmailAddress=sender)
    return sender


def create_platform_applications(stage: str, endpoint: str) -> dict[str, str]:
    """An APNs and an FCM (SNS platform "GCM") platform application in moto, with fake
    credentials (moto never contacts Apple or Google): what the stack parameters
    ApnsPlatformApplicationArn / FcmPlatformApplicationArn name when deployed. Idempotent."""
    sns = client("sns", endpoint)
    existing = {a["PlatformApplicationArn"] for page in sns.get_paginator("list_platform_applications").paginate()
                for a in page.get("PlatformApplications", [])}
    out = {}
    for key, platform, name, attrs in (
        ("APNS_PLATFORM_APP_ARN", "APNS", f"petty-{stage}-apns",
         {"PlatformCredential": "local-fake-apns-key", "PlatformPrincipal": "local-fake-apns-certificate"}),
        ("FCM_PLATFORM_APP_ARN", "GCM", f"petty-{stage}-fcm", {"PlatformCredential": "local-fake-fcm-server-key"}),
    ):
        arn = next((a for a in existing if a.endswith(f":app/{platform}/{name}")), None)
        out[key] = arn or sns.create_platform_application(Name=name, Platform=platform, Attributes=attrs)["PlatformApplicationArn"]
    return out


def seed(args) -> None:
    template = load_template(Path(args.template))
    resolve = Resolver(template, args.stage)
    # Locally a failed record comes back within seconds, not the template's 90 s.
    resolve.queue_visibility = args.queue_visibility
    tables = create_tables(template, resolve, args.endpoint)
    names = create_secrets(template, resolve, args.endpoint)
    queues = create_iot_and_queues(template, resolve, args.endpoint)
    create_buckets(template, resolve, args.endpoint)
    platform_apps = create_platform_applications(args.stage, args.endpoint)
    # The local stack's own values (see the module docstring), for every function that has them.
    local = {
        **platform_apps,
        "WEBHOOK_ALLOW_LOOPBACK": "true",
        "PUBLIC_BASE_URL": args.public_base_url.rstrip("/"),
    }
    env = function_env(template, resolve, local)
    env.update(local)
    sender = create_email_identity(env.get("EMAIL_SENDER") or resolve.params.get("AlertEmailSender"), args.endpoint)
    # For the local stand-ins of the topic rule and the event source mapping.
    env.update({"READINGS_QUEUE_URL": queues["ReadingsQueue"], "READINGS_DLQ_URL": queues["ReadingsDeadLetterQueue"]})
    # For the local stand-ins of the streams' event source mappings.
    env.update(stream_arns(template, resolve, args.endpoint))
    env.update({
        # The functions may reach moto through tools/fault_proxy.py (--function-endpoint).
        "AWS_ENDPOINT_URL": args.function_endpoint or args.endpoint,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "CORS_ALLOWED_ORIGINS": "*",
        # Short locally, so `make rotate-keys` shows within seconds (production: 300 s).
        "SECRET_TTL_SECONDS": "10",
    })
    if args.env_file:
        Path(args.env_file).write_text("".join(f"{k}={v}\n" for k, v in sorted(env.items())))
    print(json.dumps({"tables": tables, "secrets": names, "queues": sorted(queues.values()),
                      "email_identity": sender, "platform_applications": sorted(platform_apps.values())}))


def keys(args) -> None:
    """Generate a new current key for a deployed (or local) stack, keeping the previous one."""
    sm = client("secretsmanager", args.endpoint)
    signing_id, public_id = f"petty/{args.stage}/jwt-signing-keys", f"petty/{args.stage}/jwt-public-keys"
    try:
        sm.describe_secret(SecretId=signing_id)
    except sm.exceptions.ResourceNotFoundException:
        raise SystemExit(f"no secret {signing_id} in {sm.meta.region_name}: is stage {args.stage!r} deployed "
                         "there (AWS_REGION / AWS_PROFILE)?")
    try:
        previous = json.loads(sm.get_secret_value(SecretId=signing_id)["SecretString"])
    except sm.exceptions.ResourceNotFoundException:  # created empty by the stack: first key set
        previous = None
    kid, signing, jwks = rotated_key_sets(previous)
    # Public keys first: verifiers must know a key before any token is signed with it.
    sm.put_secret_value(SecretId=public_id, SecretString=jwks)
    sm.put_secret_value(SecretId=signing_id, SecretString=signing)
    print(json.dumps({"current_kid": kid, "kept_previous": bool(previous)}))


def inbox_token(endpoint: str, to: str, subject: str) -> str | None:
    """The token of the newest mail to `to` whose subject contains `subject`, from moto's record
    of what SES sent (its state, `/moto-api/data.json`)."""
    import urllib.request
    with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=10) as r:
        mails = json.load(r).get("ses", {}).get("Message", [])
    for m in reversed(mails):
        to_addresses = m.get("destinations", {}).get("ToAddresses", [])
        body = m.get("body", "")
        if to_addresses[:1] == [to] and subject.lower() in m.get("subject", "").lower() and "Token: " in body:
            return body.split("Token: ", 1)[1].split()[0]
    return None


def inbox(args: argparse.Namespace) -> None:
    token = inbox_token(args.endpoint, args.to, args.subject)
    if token is None:
        raise SystemExit(f"no mail to {args.to} with {args.subject!r} in its subject and a token")
    print(token)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("seed", help="create the template's tables, secrets, queues, SES identity and SNS apps in moto")
    s.add_argument("--endpoint", required=True)
    s.add_argument("--stage", default="dev")
    s.add_argument("--function-endpoint", help="AWS endpoint written for the functions (default: --endpoint)")
    s.add_argument("--template", default=str(ROOT / "template.yaml"))
    s.add_argument("--env-file")
    s.add_argument("--queue-visibility", type=int,
                   help="every queue's visibility timeout, s (default: the template's; the local stack uses 2)")
    s.add_argument("--public-base-url", default="http://127.0.0.1:9000",
                   help="PUBLIC_BASE_URL written for the functions: the local API (default http://127.0.0.1:9000)")
    s.set_defaults(func=seed)
    g = sub.add_parser("grant-scope", help="grant a scope (admin) to an account, audited")
    g.add_argument("--endpoint", help="omit for the AWS account of your credentials")
    g.add_argument("--stage", default="dev")
    g.add_argument("--email", required=True)
    g.add_argument("--scope", default="admin")
    g.add_argument("--template", default=str(ROOT / "template.yaml"))
    g.set_defaults(func=grant_scope)
    k = sub.add_parser("keys", help="generate a new current signing key, keeping the previous one")
    k.add_argument("--endpoint", help="omit for the AWS account of your credentials")
    k.add_argument("--stage", default="dev")
    k.set_defaults(func=keys)
    i = sub.add_parser("inbox", help="the token of the newest e-mail to an address (moto's SES)")
    i.add_argument("--endpoint", required=True)
    i.add_argument("--to", required=True)
    i.add_argument("--subject", required=True, help="text in the subject (case-insensitive)")
    i.set_defaults(func=inbox)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    sys.exit(main())
