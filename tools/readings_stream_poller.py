#!/usr/bin/env python3
"""The LOCAL STAND-IN for Lambda's DynamoDB event source mapping (readings stream ->
petty-alert-evaluator).

On AWS, the evaluator's `Events: Readings: Type: DynamoDB` (template.yaml) makes Lambda read
the readings table's stream shard by shard, hand batches of records to petty-alert-evaluator
and, with `ReportBatchItemFailures`, retry a batch from the lowest sequence number the
function names in `batchItemFailures`, until MaximumRetryAttempts, then send the batch's
description to the on-failure destination. moto keeps the table's stream (describe_stream,
get_shard_iterator, get_records) but runs no mapping, so locally this process does its part:

  - reads READINGS_STREAM_ARN of the --env-file that `tools/local_aws.py seed` wrote, every
    shard from TRIM_HORIZON (nothing stored before it started is missed);
  - polls each shard every --interval seconds for up to --batch-size records;
  - keeps what the template's FilterCriteria keeps (INSERT of a reading, not the ts 0
    latest-reading copy);
  - builds the event Lambda sends: eventID, eventName, eventVersion, eventSource
    "aws:dynamodb", awsRegion, dynamodb {ApproximateCreationDateTime, Keys, NewImage,
    SequenceNumber, SizeBytes, StreamViewType}, eventSourceARN;
  - invokes petty-alert-evaluator through `cargo lambda watch`'s invoke endpoint (--api);
    on batchItemFailures it invokes again from the lowest failed sequence number, up to
    --retries times (1 s apart), then logs the batch as dead-lettered and moves on;
  - logs one line per batch: counts only, never readings, positions or identities.

    .venv/bin/python tools/readings_stream_poller.py --env-file .dev.env --endpoint http://127.0.0.1:4566 \\
        --api http://127.0.0.1:9000 [--interval 0.2] [--batch-size 100]

`make dev` and the test stack run it in the background. SIGINT/SIGTERM stop it between
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

sys.path.insert(0, __import__("os").path.dirname(__file__))
from queue_poller import read_env  # noqa: E402  (the same KEY=VALUE file)

FUNCTION = "petty-alert-evaluator"
REGION = "us-east-1"


def streams_client(endpoint: str):
    import boto3  # from .venv

    return boto3.client("dynamodbstreams", endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id="test", aws_secret_access_key="test")


def kept(record: dict) -> bool:
    """The template's FilterCriteria: INSERT events of readings (ts != 0)."""
    ts = record.get("dynamodb", {}).get("Keys", {}).get("ts", {}).get("N")
    return record.get("eventName") == "INSERT" and ts not in (None, "0")


def lambda_record(r: dict, stream_arn: str) -> dict:
    """A stream record as Lambda's event shows it (creation time in epoch seconds)."""
    d = r["dynamodb"]
    created = d.get("ApproximateCreationDateTime")
    created = created.timestamp() if hasattr(created, "timestamp") else (created or time.time())
    return {
        "eventID": r.get("eventID", ""),
        "eventName": r["eventName"],
        "eventVersion": r.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": {
            "ApproximateCreationDateTime": int(created),
            "Keys": d.get("Keys", {}),
            "NewImage": d.get("NewImage", {}),
            "SequenceNumber": d["SequenceNumber"],
            "SizeBytes": d.get("SizeBytes", 0),
            "StreamViewType": d.get("StreamViewType", "NEW_IMAGE"),
        },
        "eventSourceARN": stream_arn,
    }


def invoke(api: str, event: dict, timeout: float) -> tuple[list[str] | None, str]:
    """(the sequence numbers in batchItemFailures, "") or (None, why the whole batch failed)."""
    url = f"{api.rstrip('/')}/2015-03-31/functions/{FUNCTION}/invocations"
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


def wait_for_function(api: str, seconds: float, stopping) -> None:
    """The evaluator answers an empty batch (compiling it first if it must)."""
    deadline = time.monotonic() + seconds
    why = ""
    while time.monotonic() < deadline and not stopping():
        failures, why = invoke(api, {"Records": []}, timeout=600)
        if failures is not None:
            return
        time.sleep(1)
    if not stopping():
        sys.exit(f"stream-poller: {FUNCTION} did not answer at {api} within {seconds:.0f} s ({why})")


def deliver(api: str, records: list[dict], retries: int, timeout: float) -> tuple[str, int]:
    """Hands `records` to the evaluator, retrying from the lowest failed sequence number."""
    pending = records
    for attempt in range(retries + 1):
        failures, why = invoke(api, {"Records": pending}, timeout)
        if failures == []:
            return "ok", attempt
        seqs = [r["dynamodb"]["SequenceNumber"] for r in pending]
        if failures:
            lowest = min((seqs.index(f) for f in failures if f in seqs), default=0)
            pending = pending[lowest:]
        time.sleep(1)
    return f"dead-lettered ({why or 'item failures'})", retries


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--env-file", required=True)
    ap.add_argument("--endpoint", required=True, help="moto")
    ap.add_argument("--api", required=True, help="cargo lambda watch")
    ap.add_argument("--interval", type=float, default=0.2)
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--retries", type=int, default=3)
    ap.add_argument("--invoke-timeout", type=float, default=60)
    args = ap.parse_args()
    stream_arn = read_env(args.env_file)["READINGS_STREAM_ARN"]
    streams = streams_client(args.endpoint)

    stop = {"now": False}
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.update(now=True))
    wait_for_function(args.api, 900, lambda: stop["now"])
    print(f"stream-poller: readings stream -> {FUNCTION} every {args.interval:g} s", flush=True)

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
            records = [lambda_record(r, stream_arn) for r in out.get("Records", []) if kept(r)]
            if not records:
                continue
            idle = False
            started = time.monotonic()
            outcome, retried = deliver(args.api, records, args.retries, args.invoke_timeout)
            print(f"stream-poller: {len(records)} records, {outcome}, retries {retried}, "
                  f"{(time.monotonic() - started) * 1000:.0f} ms", flush=True)
        if idle:
            time.sleep(args.interval)


if __name__ == "__main__":
    main()
