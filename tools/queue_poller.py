#!/usr/bin/env python3
"""The LOCAL STAND-IN for Lambda's SQS event source mappings: by default the readings queue ->
petty-stream; with `--queue-env DELIVERY_QUEUE_URL --function petty-notifier` the delivery
queue -> petty-notifier. Not the real thing: one poller per mapping, one batch at a time.

On AWS, a function's `Events: X: Type: SQS` (template.yaml) makes Lambda poll the queue, hand
batches to the function and, with `ReportBatchItemFailures`, delete every record except those
the function names in `batchItemFailures`; those come back after the queue's visibility
timeout, and after `maxReceiveCount` (5) receives the queue's redrive policy moves them to the
dead-letter queue. moto has the queues (and implements redrive and per-message DelaySeconds)
but no event source mappings, so locally this process does the mapping's part:

  - long-polls the queue named --queue-env (default READINGS_QUEUE_URL) of the --env-file
    that `tools/local_aws.py seed` wrote, in moto (--endpoint);
  - gathers up to --batch-size records or --window seconds after the first one (the brief's
    local 10 / 1 s; the template deploys BatchSize 100, MaximumBatchingWindowInSeconds 2);
  - builds the SQS event Lambda sends: each record's messageId, receiptHandle, body,
    attributes (ApproximateReceiveCount, SentTimestamp, SenderId,
    ApproximateFirstReceiveTimestamp), messageAttributes (Lambda's shape), md5OfBody,
    eventSource "aws:sqs", eventSourceARN, awsRegion;
  - invokes --function (default petty-stream) through `cargo lambda watch`'s invoke endpoint
    (--api: POST /2015-03-31/functions/<function>/invocations, as `cargo lambda invoke` does);
  - deletes the records not in `batchItemFailures`; a failed invocation (an error, an answer
    that is not a batch response, or one naming an id not in the batch) fails the whole batch,
    as Lambda does. Failures are left alone to reappear after the visibility timeout, so
    moto's redrive moves them to the dead-letter queue (READINGS_DLQ_URL, DELIVERY_DLQ_URL)
    after maxReceiveCount receives;
  - logs one line per batch: counts only (records, deleted, left for retry, the highest
    receive count), never readings, positions, deliveries or identities.

    .venv/bin/python tools/queue_poller.py --env-file .dev.env --endpoint http://127.0.0.1:4566 \\
        --api http://127.0.0.1:9000 [--batch-size 10] [--window 1] [--once]
    .venv/bin/python tools/queue_poller.py --env-file .dev.env --endpoint http://127.0.0.1:4566 \\
        --api http://127.0.0.1:9000 --queue-env DELIVERY_QUEUE_URL --function petty-notifier \\
        --label delivery-poller

`make dev` runs both in the background (the test stack the delivery one);
tools/stream_check.py runs the readings one against a fresh stack. Before polling it waits for
the API and invokes the function once with an empty batch, so a first compile of the function
never costs a record a receive. Loopback only; SIGINT/SIGTERM stop it between batches. Publish
readings as the IoT rule would with tools/queue_publish.py.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import signal
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

FUNCTION = "petty-stream"  # the default --function
QUEUE_ENV = "READINGS_QUEUE_URL"  # the default --queue-env
REGION = "us-east-1"
LABEL = "queue-poller"  # the prefix of its log lines (--label)


def read_env(path: str) -> dict[str, str]:
    out = {}
    for line in Path(path).read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            out[k] = v
    return out


def sqs_client(endpoint: str):
    import boto3  # from .venv

    return boto3.client("sqs", endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id="test", aws_secret_access_key="test")


def lambda_message_attributes(attrs: dict) -> dict:
    """SQS's MessageAttributes as Lambda's event shows them (camelCase, list fields present)."""
    out = {}
    for name, a in (attrs or {}).items():
        out[name] = {
            "stringValue": a.get("StringValue"),
            "binaryValue": a["BinaryValue"].decode("latin-1") if isinstance(a.get("BinaryValue"), bytes) else None,
            "stringListValues": a.get("StringListValues", []),
            "binaryListValues": a.get("BinaryListValues", []),
            "dataType": a.get("DataType", "String"),
        }
        out[name] = {k: v for k, v in out[name].items() if v is not None}
    return out


def event_record(m: dict, queue_arn: str) -> dict:
    """One record of the SQS event Lambda hands a function."""
    attrs = m.get("Attributes", {})
    body = m.get("Body", "")
    return {
        "messageId": m["MessageId"],
        "receiptHandle": m["ReceiptHandle"],
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": attrs.get("ApproximateReceiveCount", "1"),
            "SentTimestamp": attrs.get("SentTimestamp", str(int(time.time() * 1000))),
            "SenderId": attrs.get("SenderId", "AIDAIENQZJOLO23YVJ4VO"),
            "ApproximateFirstReceiveTimestamp": attrs.get("ApproximateFirstReceiveTimestamp",
                                                          str(int(time.time() * 1000))),
        },
        "messageAttributes": lambda_message_attributes(m.get("MessageAttributes", {})),
        "md5OfBody": m.get("MD5OfBody") or hashlib.md5(body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def invoke(api: str, event: dict, timeout: float, function: str = FUNCTION) -> tuple[list[str] | None, str]:
    """Invokes `function` with `event`: (the ids in batchItemFailures, "") or (None, why the
    whole batch failed)."""
    url = f"{api.rstrip('/')}/2015-03-31/functions/{function}/invocations"
    req = urllib.request.Request(url, data=json.dumps(event).encode(), method="POST",
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, raw, function_error = resp.status, resp.read(), resp.headers.get("X-Amz-Function-Error")
    except urllib.error.HTTPError as e:
        return None, f"invoke answered HTTP {e.code}"
    except OSError as e:
        return None, f"invoke failed: {type(e).__name__}"
    if status != 200 or function_error:
        return None, f"function error ({function_error or status})"
    try:
        answer = json.loads(raw) if raw.strip() else {}
    except ValueError:
        return None, "the answer is not JSON"
    if not isinstance(answer, dict) or "errorType" in answer or "errorMessage" in answer:
        return None, "function error"
    failures = answer.get("batchItemFailures", [])
    if not isinstance(failures, list):
        return None, "batchItemFailures is not a list"
    ids = []
    for f in failures:
        item = f.get("itemIdentifier") if isinstance(f, dict) else None
        if not isinstance(item, str) or not item:
            return None, "a batchItemFailures entry without itemIdentifier"
        ids.append(item)
    return ids, ""


def wait_for_function(api: str, seconds: float, stopping, function: str = FUNCTION) -> None:
    """The API answers, and `function` answers an empty batch (compiling it if it must)."""
    deadline = time.monotonic() + seconds
    why = ""
    while time.monotonic() < deadline and not stopping():
        try:
            urllib.request.urlopen(f"{api.rstrip('/')}/v1/health", timeout=5)
            failures, why = invoke(api, {"Records": []}, timeout=600, function=function)
            if failures is not None:
                return
        except OSError as e:
            why = type(e).__name__
        time.sleep(1)
    if not stopping():
        sys.exit(f"{LABEL}: {function} did not answer at {api} within {seconds:.0f} s ({why})")


class Stop(Exception):
    """SIGINT/SIGTERM while receiving: records held are left to reappear, as on a crash."""


class Poller:
    busy = False  # invoking or deleting: a signal then waits for the batch to finish

    def __init__(self, sqs, queue_url: str, api: str, batch_size: int, window: float, invoke_timeout: float,
                 function: str = FUNCTION):
        self.sqs, self.queue_url, self.api, self.function = sqs, queue_url, api, function
        self.batch_size, self.window, self.invoke_timeout = batch_size, window, invoke_timeout
        self.queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.totals = {"batches": 0, "records": 0, "deleted": 0, "retried": 0}

    def receive(self, count: int, wait_s: int) -> list[dict]:
        out = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=min(10, count),
                                       WaitTimeSeconds=wait_s, AttributeNames=["All"],
                                       MessageAttributeNames=["All"])
        return out.get("Messages", [])

    def gather(self, wait_s: int) -> list[dict]:
        """A batch: the first records within `wait_s` (long poll), then more until the batch is
        full or --window has passed since the first."""
        batch = self.receive(self.batch_size, wait_s)
        if not batch:
            return []
        first = time.monotonic()
        while len(batch) < self.batch_size:
            left = self.window - (time.monotonic() - first)
            if left <= 0:
                break
            more = self.receive(self.batch_size - len(batch), 1 if left >= 1 else 0)
            batch += more
            if not more and left < 1:
                time.sleep(left)
        # A message received twice within the window (expired visibility) counts once: the latest.
        latest = {m["MessageId"]: m for m in batch}
        return list(latest.values())

    def once(self, wait_s: int) -> int:
        batch = self.gather(wait_s)
        if not batch:
            return 0
        event = {"Records": [event_record(m, self.queue_arn) for m in batch]}
        self.busy = True
        try:
            return self._deliver(batch, event)
        finally:
            self.busy = False

    def _deliver(self, batch: list[dict], event: dict) -> int:
        failures, why = invoke(self.api, event, self.invoke_timeout, self.function)
        ids = {m["MessageId"] for m in batch}
        if failures is not None and not set(failures) <= ids:
            failures, why = None, "batchItemFailures names a record not in the batch"
        retry = ids if failures is None else set(failures)
        done = [m for m in batch if m["MessageId"] not in retry]
        for i in range(0, len(done), 10):
            entries = [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done[i:i + 10])]
            out = self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
            if out.get("Failed"):
                print(f"{LABEL}: {len(out['Failed'])} deletes failed (they will be received again)", flush=True)
        top = max(int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1")) for m in batch)
        t = self.totals
        t["batches"] += 1
        t["records"] += len(batch)
        t["deleted"] += len(done)
        t["retried"] += len(retry)
        note = f"; whole batch failed: {why}" if failures is None else ""
        print(f"{LABEL}: batch of {len(batch)}: {len(done)} deleted, {len(retry)} left for retry "
              f"(highest receive count {top}){note}", flush=True)
        return len(batch)


def main() -> int:
    global LABEL
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env-file", required=True, help="the env file `tools/local_aws.py seed` wrote (READINGS_QUEUE_URL)")
    p.add_argument("--endpoint", required=True, help="moto")
    p.add_argument("--api", required=True, help="`cargo lambda watch` (its invoke endpoint)")
    p.add_argument("--queue-env", default=QUEUE_ENV,
                   help=f"the env file's key holding the queue URL (default {QUEUE_ENV}; DELIVERY_QUEUE_URL for the notifier)")
    p.add_argument("--function", default=FUNCTION, help=f"the function invoked (default {FUNCTION})")
    p.add_argument("--label", default=LABEL, help=f"the prefix of its log lines (default {LABEL})")
    p.add_argument("--batch-size", type=int, default=10, help="records per invocation, at most (default 10)")
    p.add_argument("--window", type=float, default=1.0, help="seconds a batch is gathered after its first record")
    p.add_argument("--wait", type=int, default=5, help="long-poll seconds per receive (1-20)")
    p.add_argument("--invoke-timeout", type=float, default=60.0)
    p.add_argument("--startup-timeout", type=float, default=900.0, help="seconds to wait for the API and function")
    p.add_argument("--once", action="store_true", help="one batch (or none within --wait), then exit")
    args = p.parse_args()
    LABEL = args.label
    if not 1 <= args.batch_size <= 10_000 or not 0 <= args.window <= 300 or not 0 <= args.wait <= 20:
        p.error("--batch-size 1-10000, --window 0-300, --wait 0-20")

    stop = {"now": False}
    poller: Poller | None = None

    def on_signal(signum, _frame):
        if stop["now"]:
            sys.exit(128 + signum)
        stop["now"] = True
        if poller is None or not poller.busy:
            raise Stop()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    queue_url = read_env(args.env_file).get(args.queue_env)
    if not queue_url:
        sys.exit(f"{LABEL}: no {args.queue_env} in {args.env_file} (seed with tools/local_aws.py seed)")
    try:
        wait_for_function(args.api, args.startup_timeout, lambda: stop["now"], args.function)
        poller = Poller(sqs_client(args.endpoint), queue_url, args.api, args.batch_size, args.window,
                        args.invoke_timeout, args.function)
    except Stop:
        return 0
    print(f"{LABEL}: polling {queue_url.rsplit('/', 1)[-1]} for {args.function} (batches of up to "
          f"{args.batch_size}, {args.window:g} s window); the local stand-in for the SQS event source mapping",
          flush=True)
    while not stop["now"]:
        try:
            poller.once(args.wait)
        except Stop:
            break
        except Exception as e:  # moto restarting, a reset connection: log, back off, go on
            if stop["now"]:
                break
            print(f"{LABEL}: {type(e).__name__}: {str(e)[:200]}; retrying in 2 s", flush=True)
            try:
                time.sleep(2)
            except Stop:
                break
        if args.once:
            break
    t = poller.totals
    print(f"{LABEL}: stopped after {t['batches']} batches, {t['records']} records: {t['deleted']} deleted, "
          f"{t['retried']} left for retry", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
