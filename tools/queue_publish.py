#!/usr/bin/env python3
"""Puts collar readings on the local readings queue exactly as the AWS IoT topic rule would.

On AWS a collar publishes each reading to `petty/<stage>/collars/<thing name>/readings`, and
the rule `SELECT *, topic(4) AS iot_thing FROM 'petty/<stage>/collars/+/readings'` sends the
payload to the readings queue with `iot_thing` (the topic's thing name, which the IoT policy
lets a thing publish under only as itself) added: one message per reading, the body compact
JSON. moto has the queue but no MQTT broker or rule engine, so this does the rule's part;
tools/queue_poller.py (the local event source mapping) hands the messages to petty-stream.

    # A simulated stretch of a collar's day (the Rust simulator, as tools/demo.py uses it):
    .venv/bin/python tools/queue_publish.py --env-file .dev.env simulate --collar DM-000001 --minutes 10
    # Single crafted records, e.g. what the stream must refuse:
    .venv/bin/python tools/queue_publish.py --env-file .dev.env reading --thing DM-000001 \\
        --json '{"collar_id": "DM-000001", "timestamp": "2026-11-21T10:00:00Z", "heart_rate": 80,
                 "activity_level": 0, "location": {"type": "Point", "coordinates": [-74.0, 40.7]}}'
    .venv/bin/python tools/queue_publish.py --env-file .dev.env reading --no-thing --json '{...}'
    .venv/bin/python tools/queue_publish.py --env-file .dev.env reading --raw 'not json'
    # JSON lines (one reading each) from a file or stdin, published under one thing:
    .venv/bin/python tools/queue_publish.py --env-file .dev.env file --thing DM-000001 readings.jsonl

The queue is READINGS_QUEUE_URL of --env-file (what `tools/local_aws.py seed` wrote); moto is
--endpoint, by default the queue URL's own host. `make stream-demo COLLAR=...` runs `simulate`
against `make dev`. Prints how many messages it sent. Loopback only.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
RULE_IDENTITY_FIELD = "iot_thing"  # functions/stream: the field the rule adds


def rule_body(payload: dict, thing: str | None) -> str:
    """The message body the rule sends for `payload` published under `thing`'s topic
    (`SELECT *, topic(4) AS iot_thing`: the topic's thing wins over any field of that name);
    `thing=None` is a record that did not come through the rule."""
    out = dict(payload)
    out.pop(RULE_IDENTITY_FIELD, None)
    if thing is not None:
        out[RULE_IDENTITY_FIELD] = thing
    return json.dumps(out, separators=(",", ":"))


def sqs_client(endpoint: str):
    import boto3  # from .venv

    return boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def endpoint_of(queue_url: str) -> str:
    u = urlsplit(queue_url)
    return f"{u.scheme}://{u.netloc}"


def send(sqs, queue_url: str, bodies: list[str]) -> list[str]:
    """Sends each body as one message (10 per SendMessageBatch): their message ids, in order."""
    ids: list[str] = []
    for i in range(0, len(bodies), 10):
        chunk = bodies[i:i + 10]
        out = sqs.send_message_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(n), "MessageBody": b} for n, b in enumerate(chunk)])
        if out.get("Failed"):
            raise RuntimeError(f"SendMessageBatch failed for {len(out['Failed'])} messages: {out['Failed'][:2]}")
        by_id = {e["Id"]: e["MessageId"] for e in out.get("Successful", [])}
        ids += [by_id[str(n)] for n in range(len(chunk))]
    return ids


def simulated(collar: str, start: datetime, end: datetime, seed: int = 7, pet: str | None = None) -> list[dict]:
    """The simulator's readings of `collar` timed in [start, end], in delivery order (its
    duplicate and out-of-order deliveries included, as a collar sends them)."""
    readings = []
    day = start.date()
    while day <= end.date():
        cmd = ["cargo", "run", "-q", "-p", "petty-behaviour", "--example", "simulate", "--",
               "--collar", collar, "--day", day.isoformat(), "--seed", str(seed)]
        if pet:
            cmd += ["--pet", pet]
        lines = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT).stdout.splitlines()
        for line in lines:
            r = json.loads(line)
            at = datetime.fromisoformat(r["timestamp"].replace("Z", "+00:00"))
            if start <= at <= end:
                readings.append(r)
        day += timedelta(days=1)
    return readings


def read_env(path: str) -> dict[str, str]:
    out = {}
    for line in Path(path).read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            out[k] = v
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env-file", default=".dev.env", help="READINGS_QUEUE_URL from here (default .dev.env)")
    p.add_argument("--endpoint", help="moto (default: the queue URL's host)")
    p.add_argument("--queue-url", help="instead of the env file's READINGS_QUEUE_URL")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("simulate", help="a simulated stretch of a collar's day, up to now")
    s.add_argument("--collar", required=True, help="the collar, which is also the thing publishing")
    s.add_argument("--minutes", type=float, default=10.0, help="how far back from now (default 10)")
    s.add_argument("--seed", type=int, default=7)
    s.add_argument("--pet", help="Biscuit, Pip, Atlas or Mochi (the simulator's profiles)")
    s.add_argument("--firmware", default="2.4.1", help="the collar's firmware field ('' for none)")
    s.add_argument("--battery", type=float, default=80.0, help="battery_pct of the readings ('-1' for none)")
    r = sub.add_parser("reading", help="one crafted record")
    r.add_argument("--thing", help="the topic's thing name (the rule adds it as iot_thing)")
    r.add_argument("--no-thing", action="store_true", help="no iot_thing: a record that bypassed the rule")
    group = r.add_mutually_exclusive_group(required=True)
    group.add_argument("--json", help="the payload, a JSON object")
    group.add_argument("--raw", help="the message body exactly (e.g. not JSON at all)")
    f = sub.add_parser("file", help="JSON lines, one reading each, under one thing")
    f.add_argument("--thing", required=True)
    f.add_argument("path", help="a .jsonl file, or - for stdin")
    args = p.parse_args()

    queue_url = args.queue_url or read_env(args.env_file).get("READINGS_QUEUE_URL")
    if not queue_url:
        p.error(f"no READINGS_QUEUE_URL in {args.env_file} (is `make dev` running? or pass --queue-url)")
    sqs = sqs_client(args.endpoint or endpoint_of(queue_url))

    if args.command == "simulate":
        now = datetime.now(timezone.utc)
        readings = simulated(args.collar, now - timedelta(minutes=args.minutes), now, args.seed, args.pet)
        for reading in readings:
            if args.firmware:
                reading["firmware"] = args.firmware
            if args.battery >= 0:
                reading["battery_pct"] = args.battery
        bodies = [rule_body(reading, args.collar) for reading in readings]
        what = f"{len(bodies)} simulated readings of {args.collar} (the last {args.minutes:g} min)"
    elif args.command == "reading":
        if args.raw is not None:
            bodies, what = [args.raw], "1 raw record"
        else:
            if args.no_thing == bool(args.thing):
                p.error("reading --json needs exactly one of --thing THING and --no-thing")
            payload = json.loads(args.json)
            if not isinstance(payload, dict):
                p.error("--json is a JSON object")
            bodies = [rule_body(payload, None if args.no_thing else args.thing)]
            what = "1 record" + (" without iot_thing" if args.no_thing else f" from thing {args.thing}")
    else:
        text = sys.stdin.read() if args.path == "-" else Path(args.path).read_text()
        bodies = [rule_body(json.loads(line), args.thing) for line in text.splitlines() if line.strip()]
        what = f"{len(bodies)} readings from thing {args.thing}"
    if not bodies:
        print("queue-publish: nothing to send")
        return 1
    started = time.monotonic()
    send(sqs, queue_url, bodies)
    print(f"queue-publish: {what} put on {queue_url.rsplit('/', 1)[-1]} in {time.monotonic() - started:.1f} s, "
          "as the IoT rule would (payload + iot_thing); tools/queue_poller.py hands them to petty-stream")
    return 0


if __name__ == "__main__":
    sys.exit(main())
