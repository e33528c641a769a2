#!/usr/bin/env python3
"""The LOCAL STAND-IN for Lambda's DynamoDB event source mappings: by default the readings
stream -> petty-alert-evaluator; with `--stream-env ALERTS_STREAM_ARN --function petty-notifier`
the alerts table's stream -> petty-notifier. Not the real thing: one process per mapping, no
parallelization, no bisection, a fixed 1 s between retries.

On AWS, a function's `Events: X: Type: DynamoDB` (template.yaml) makes Lambda read the table's
stream shard by shard, hand batches of records to the function and, with
`ReportBatchItemFailures`, retry a batch from the lowest sequence number the function names in
`batchItemFailures`, until MaximumRetryAttempts, then send the batch's description to the
on-failure destination. moto keeps the table's stream (describe_stream, get_shard_iterator,
get_records) but runs no mapping, so locally this process does its part:

  - reads the stream ARN named --stream-env (default READINGS_STREAM_ARN) of the --env-file
    that `tools/local_aws.py seed` wrote, every shard from TRIM_HORIZON (nothing stored
    before it started is missed; AWS starts the notifier's mapping at LATEST, when it is
    created);
  - polls each shard every --interval seconds for up to --batch-size records;
  - keeps what the FilterCriteria of --function's DynamoDB event in template.yaml keep (for
    the evaluator: INSERT of a reading, not the ts 0 latest-reading copy); the patterns'
    equality, prefix, suffix, anything-but, exists, numeric and equals-ignore-case matching,
    several filters OR-ed, as Lambda does. A function without FilterCriteria gets every record;
  - builds the event Lambda sends: eventID, eventName, eventVersion, eventSource
    "aws:dynamodb", awsRegion, dynamodb {ApproximateCreationDateTime, Keys, NewImage,
    OldImage, SequenceNumber, SizeBytes, StreamViewType}, eventSourceARN (NewImage and
    OldImage as the stream's view type and the event give them: a NEW_AND_OLD_IMAGES MODIFY
    carries both, an INSERT no OldImage, a REMOVE no NewImage);
  - invokes --function (default petty-alert-evaluator) through `cargo lambda watch`'s invoke
    endpoint (--api); on batchItemFailures it invokes again from the lowest failed sequence
    number, up to --retries times (1 s apart), then logs the batch as dead-lettered and moves
    on; with --on-failure-env NAME it also sends the batch's description (Lambda's on-failure
    record: requestContext, responseContext, version, timestamp, DDBStreamBatchInfo) to the
    queue URL NAME names in the env file, as the mapping's OnFailure destination would;
  - logs one line per batch: counts only, never readings, positions, alerts or identities.

    .venv/bin/python tools/readings_stream_poller.py --env-file .dev.env --endpoint http://127.0.0.1:4566 \\
        --api http://127.0.0.1:9000 [--interval 0.2] [--batch-size 100] [--retries 3]
    .venv/bin/python tools/readings_stream_poller.py --env-file .dev.env --endpoint http://127.0.0.1:4566 \\
        --api http://127.0.0.1:9000 --stream-env ALERTS_STREAM_ARN --function petty-notifier \\
        --batch-size 10 --retries 10 --on-failure-env DELIVERY_DLQ_URL --label alerts-stream-poller

`make dev` and the test stack run both in the background. SIGINT/SIGTERM stop it between
batches.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, __import__("os").path.dirname(__file__))
from queue_poller import read_env  # noqa: E402  (the same KEY=VALUE file)

FUNCTION = "petty-alert-evaluator"  # the default --function
STREAM_ENV = "READINGS_STREAM_ARN"  # the default --stream-env
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's
ROOT = Path(__file__).resolve().parent.parent


def streams_client(endpoint: str):
    import boto3  # from .venv

    return boto3.client("dynamodbstreams", endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id="test", aws_secret_access_key="test")


# --------------------------------------------------------------------------- filter criteria
def template_filters(template_path: str, function: str) -> list[dict] | None:
    """The FilterCriteria patterns (parsed) of `function`'s DynamoDB events in the template, or
    None when it declares no DynamoDB event with FilterCriteria (then every record passes)."""
    from local_aws import load_template  # the CloudFormation-tag-aware loader (PyYAML, .venv)

    template = load_template(Path(template_path))
    patterns: list[dict] = []
    found = False
    for res in template.get("Resources", {}).values():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        binary = ((res.get("Metadata") or {}).get("BuildProperties") or {}).get("Binary")
        if binary != function:
            continue
        for event in ((res.get("Properties") or {}).get("Events") or {}).values():
            if event.get("Type") != "DynamoDB":
                continue
            filters = ((event.get("Properties") or {}).get("FilterCriteria") or {}).get("Filters")
            if not filters:
                return None  # one unfiltered DynamoDB event: everything passes
            found = True
            patterns += [json.loads(f["Pattern"]) for f in filters]
    return patterns if found else None


def _number(v) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _matches_one(rule, value, present: bool) -> bool:
    """One entry of a pattern's list against a value (Lambda's / EventBridge's rule syntax)."""
    if not isinstance(rule, dict):
        return present and value == rule
    (op, arg), = rule.items()
    if op == "exists":
        return present == bool(arg)
    if not present:
        return False
    if op == "prefix":
        if isinstance(arg, dict):  # {"prefix": {"equals-ignore-case": "..."}}
            return isinstance(value, str) and value.lower().startswith(arg["equals-ignore-case"].lower())
        return isinstance(value, str) and value.startswith(arg)
    if op == "suffix":
        if isinstance(arg, dict):
            return isinstance(value, str) and value.lower().endswith(arg["equals-ignore-case"].lower())
        return isinstance(value, str) and value.endswith(arg)
    if op == "equals-ignore-case":
        return isinstance(value, str) and value.lower() == arg.lower()
    if op == "anything-but":
        if isinstance(arg, dict):
            return not _matches_one(arg, value, present)
        return value not in (arg if isinstance(arg, list) else [arg])
    if op == "numeric":
        n = _number(value)
        if n is None or isinstance(value, bool):
            return False
        ops = {"=": n.__eq__, "<": n.__lt__, "<=": n.__le__, ">": n.__gt__, ">=": n.__ge__}
        return all(ops[arg[i]](float(arg[i + 1])) for i in range(0, len(arg), 2))
    raise ValueError(f"filter operator {op!r} is not implemented by this local stand-in")


OPERATORS = {"exists", "prefix", "suffix", "equals-ignore-case", "anything-but", "numeric"}


def validate(pattern: dict) -> None:
    """Fails on a pattern this stand-in cannot evaluate as Lambda would."""
    for key, rule in pattern.items():
        if isinstance(rule, dict):
            validate(rule)
        elif not isinstance(rule, list):
            raise SystemExit(f"stream-poller: FilterCriteria {key!r}: a pattern value must be a list or an object")
        else:
            for r in rule:
                if isinstance(r, dict) and (len(r) != 1 or next(iter(r)) not in OPERATORS):
                    raise SystemExit(f"stream-poller: FilterCriteria operator {r!r} is not implemented by this "
                                     "local stand-in (tools/readings_stream_poller.py)")


def matches(pattern: dict, event) -> bool:
    """A FilterCriteria pattern against a record (as Lambda's event shows it)."""
    for key, rule in pattern.items():
        present = isinstance(event, dict) and key in event
        value = event.get(key) if present else None
        if isinstance(rule, dict):
            if not present or not matches(rule, value):
                return False
            continue
        values = value if isinstance(value, list) else [value]
        if not any(_matches_one(r, v, present) for r in rule for v in values):
            return False
    return True


def kept(record: dict, patterns: list[dict] | None) -> bool:
    """The function's FilterCriteria (OR of its patterns); None: no filter."""
    return patterns is None or any(matches(p, record) for p in patterns)


# --------------------------------------------------------------------------- records
def lambda_record(r: dict, stream_arn: str) -> dict:
    """A stream record as Lambda's event shows it (creation time in epoch seconds). The images
    the stream gives: NewImage (absent for REMOVE), OldImage (NEW_AND_OLD_IMAGES / OLD_IMAGE,
    absent for INSERT)."""
    d = r["dynamodb"]
    created = d.get("ApproximateCreationDateTime")
    created = created.timestamp() if hasattr(created, "timestamp") else (created or time.time())
    view = d.get("StreamViewType", "NEW_IMAGE")
    dynamodb = {"ApproximateCreationDateTime": int(created), "Keys": d.get("Keys", {})}
    if "NewImage" in d or (view == "NEW_IMAGE" and r["eventName"] != "REMOVE"):
        dynamodb["NewImage"] = d.get("NewImage", {})
    if "OldImage" in d:
        dynamodb["OldImage"] = d["OldImage"]
    dynamodb.update({"SequenceNumber": d["SequenceNumber"], "SizeBytes": d.get("SizeBytes", 0), "StreamViewType": view})
    out = {
        "eventID": r.get("eventID", ""),
        "eventName": r["eventName"],
        "eventVersion": r.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }
    if r.get("userIdentity"):  # TTL removals (not emitted by moto, which runs no TTL)
        out["userIdentity"] = r["userIdentity"]
    return out


# --------------------------------------------------------------------------- invoking
FUNCTION_NAME = FUNCTION  # the --function this process invokes (set in main)


def invoke(api: str, event: dict, timeout: float) -> tuple[list[str] | None, str]:
    """(the sequence numbers in batchItemFailures, "") or (None, why the whole batch failed)."""
    url = f"{api.rstrip('/')}/2015-03-31/functions/{FUNCTION_NAME}/invocations"
    req = urllib.request.Request(url, data=json.dumps(event).encode(), method="POST",
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw, function_error = resp.read(), resp.headers.get("X-Amz-Function-Error")
    except urllib.error.HTTPError as e:
        return None, f"invoke answered HTTP {e.code}"
    except OSError as e:
        return None, f"invoke failed: {type(e).__name__}"
    try:
        answer = json.loads(raw) if raw.strip() else {}
    except ValueError:
        return None, "the answer is not JSON"
    if function_error or not isinstance(answer, dict) or "errorType" in answer:
        return None, "function error"
    failures = answer.get("batchItemFailures", [])
    return [f.get("itemIdentifier", "") for f in failures if isinstance(f, dict)], ""


def wait_for_function(api: str, seconds: float, stopping, label: str = "stream-poller") -> None:
    """The function answers an empty batch (compiling it first if it must)."""
    deadline = time.monotonic() + seconds
    why = ""
    while time.monotonic() < deadline and not stopping():
        failures, why = invoke(api, {"Records": []}, timeout=600)
        if failures is not None:
            return
        time.sleep(1)
    if not stopping():
        sys.exit(f"{label}: {FUNCTION_NAME} did not answer at {api} within {seconds:.0f} s ({why})")


def deliver(api: str, records: list[dict], retries: int, timeout: float) -> tuple[str, int, list[dict], str]:
    """Hands `records` to the function, retrying from the lowest failed sequence number:
    (outcome, retries, the records still failing after the last try, why)."""
    pending = records
    why = ""
    for attempt in range(retries + 1):
        failures, why = invoke(api, {"Records": pending}, timeout)
        if failures == []:
            return "ok", attempt, [], ""
        seqs = [r["dynamodb"]["SequenceNumber"] for r in pending]
        if failures:
            lowest = min((seqs.index(f) for f in failures if f in seqs), default=0)
            pending = pending[lowest:]
        if attempt < retries:
            time.sleep(1)
    return f"dead-lettered ({why or 'item failures'})", retries, pending, why or "item failures"


def on_failure_record(failed: list[dict], shard_id: str, stream_arn: str, attempts: int, why: str) -> dict:
    """What Lambda sends a stream mapping's on-failure destination: the batch's description,
    never its records."""
    def arrival(r):
        return datetime.fromtimestamp(r["dynamodb"]["ApproximateCreationDateTime"], timezone.utc) \
            .isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION_NAME}",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": attempts,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                            **({"functionError": "Unhandled"} if why != "item failures" else {})},
        "version": "1.0",
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": failed[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": failed[-1]["dynamodb"]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": arrival(failed[0]),
            "approximateArrivalOfLastRecord": arrival(failed[-1]),
            "batchSize": len(failed),
            "streamArn": stream_arn,
        },
    }


def main() -> None:
    global FUNCTION_NAME
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--env-file", required=True)
    ap.add_argument("--endpoint", required=True, help="moto")
    ap.add_argument("--api", required=True, help="cargo lambda watch")
    ap.add_argument("--stream-env", default=STREAM_ENV,
                    help=f"the env file's key holding the stream ARN (default {STREAM_ENV}; ALERTS_STREAM_ARN for the notifier)")
    ap.add_argument("--function", default=FUNCTION, help=f"the function invoked (default {FUNCTION})")
    ap.add_argument("--template", default=str(ROOT / "template.yaml"),
                    help="where --function's FilterCriteria are read (default template.yaml)")
    ap.add_argument("--no-filter", action="store_true", help="hand every record over, ignoring the FilterCriteria")
    ap.add_argument("--on-failure-env", metavar="NAME",
                    help="the env file's key of a queue URL that gets the description of a batch that failed every "
                         "retry (the mapping's OnFailure destination; e.g. DELIVERY_DLQ_URL). Default: log it only")
    ap.add_argument("--label", default="stream-poller", help="the prefix of its log lines (default stream-poller)")
    ap.add_argument("--interval", type=float, default=0.2)
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--retries", type=int, default=3)
    ap.add_argument("--invoke-timeout", type=float, default=60)
    args = ap.parse_args()
    FUNCTION_NAME = args.function
    label = args.label
    env = read_env(args.env_file)
    stream_arn = env.get(args.stream_env)
    if not stream_arn:
        sys.exit(f"{label}: no {args.stream_env} in {args.env_file} (does template.yaml give that table a stream? "
                 "seed with tools/local_aws.py seed)")
    on_failure_url = None
    if args.on_failure_env:
        on_failure_url = env.get(args.on_failure_env)
        if not on_failure_url:
            sys.exit(f"{label}: no {args.on_failure_env} in {args.env_file}")
    patterns = None if args.no_filter else template_filters(args.template, args.function)
    for p in patterns or []:  # an operator this stand-in lacks fails now, not on the first record
        validate(p)
    streams = streams_client(args.endpoint)
    sqs = None
    if on_failure_url:
        from queue_poller import sqs_client
        sqs = sqs_client(args.endpoint)

    stop = {"now": False}
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.update(now=True))
    wait_for_function(args.api, 900, lambda: stop["now"], label)
    stream_name = args.stream_env.removesuffix("_STREAM_ARN").lower().replace("_", " ")
    what = "its FilterCriteria" if patterns is not None else "no filter"
    print(f"{label}: {stream_name} stream -> {args.function} every {args.interval:g} s ({what}"
          f"{', on failure to ' + on_failure_url.rsplit('/', 1)[-1] if on_failure_url else ''})", flush=True)

    iterators: dict[str, str | None] = {}
    while not stop["now"]:
        shards = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"].get("Shards", [])
        for shard in shards:
            sid = shard["ShardId"]
            if sid not in iterators:
                iterators[sid] = streams.get_shard_iterator(
                    StreamArn=stream_arn, ShardId=sid, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        idle = True
        for sid, it in list(iterators.items()):
            if not it or stop["now"]:
                continue
            out = streams.get_records(ShardIterator=it, Limit=args.batch_size)
            iterators[sid] = out.get("NextShardIterator")
            records = [rec for rec in (lambda_record(r, stream_arn) for r in out.get("Records", []))
                       if kept(rec, patterns)]
            if not records:
                continue
            idle = False
            started = time.monotonic()
            outcome, retried, failed, why = deliver(args.api, records, args.retries, args.invoke_timeout)
            if failed and sqs is not None:
                try:
                    sqs.send_message(QueueUrl=on_failure_url, MessageBody=json.dumps(
                        on_failure_record(failed, sid, stream_arn, retried + 1, why)))
                    outcome += f", {len(failed)} described to {on_failure_url.rsplit('/', 1)[-1]}"
                except Exception as e:  # moto away: the log line still says dead-lettered
                    outcome += f", on-failure send failed: {type(e).__name__}"
            print(f"{label}: {len(records)} records, {outcome}, retries {retried}, "
                  f"{(time.monotonic() - started) * 1000:.0f} ms", flush=True)
        if idle:
            time.sleep(args.interval)


if __name__ == "__main__":
    main()
