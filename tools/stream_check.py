#!/usr/bin/env python3
"""The collar stream end to end on the local stack: the IoT rule's queue, the event source
mapping's stand-in and petty-stream, each outcome asserted. Bounded (~30 s on a stack that is
up), exits 1 on any mismatch; one summary line.

    tools/with_stack.sh stream .venv/bin/python tools/stream_check.py     # `make stream-check`

1. An operator (tools/loadlib.py's Operator, granted `admin` in moto) registers two collars;
   an owner claims both with their codes.
2. tools/queue_poller.py starts (the local SQS event source mapping: batches to petty-stream
   through `cargo lambda watch`, deletes all but `batchItemFailures`).
3. Published as the IoT rule would (tools/queue_publish.py: payload + `iot_thing`), mixed:
   good readings of the first collar (with battery and firmware), and four records the stream
   must refuse: a payload naming the second collar under the first one's topic
   (collar_mismatch), one without `iot_thing` (no_device_identity), a body that is not JSON
   (invalid_json), and one from an unregistered collar (unclaimed_collar).
4. Asserted: every good reading stored exactly once (counted in moto with boto3, bypassing the
   functions); GET /v1/realtime shows the newest and GET /v1/collars/{id} its battery and
   firmware (fleet status); each bad record received again and again (the poller saw receive
   counts up to maxReceiveCount) and then in the dead-letter queue (READINGS_DLQ_URL, read
   back: exactly the four bodies, each received at least maxReceiveCount times); the poller
   deleted exactly the good ones, no batch failed as a whole; the readings queue ends empty;
   and the good readings, outside the collar's one safe zone, raised exactly one zone_exit
   (the alert evaluator on the stream path).

Needs the stack's queues with a short visibility timeout (tools/stack.sh seeds 2 s).
"""
from __future__ import annotations

import random
import re
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from loadlib import Api, CollarSim, Operator, claim, env, make_owner, moto_dynamodb, run_id, stack_env, stored_count
from queue_publish import rule_body, send, sqs_client

ROOT = Path(__file__).resolve().parent.parent
MAX_RECEIVES = 5  # template.yaml: the readings queue's RedrivePolicy maxReceiveCount
BUDGET_S = 55.0
GOOD = 6
FIRMWARE = "3.1.0-rc.2"


def epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class PollerProcess:
    """tools/queue_poller.py as a child process; its lines kept."""

    def __init__(self):
        cmd = [sys.executable, str(ROOT / "tools/queue_poller.py"), "--env-file", env("PETTY_STACK_ENV"),
               "--endpoint", env("PETTY_MOTO_URL"), "--api", env("PETTY_API_URL"), "--wait", "1",
               "--startup-timeout", "120"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if "queue-poller: polling" in line:
                self.ready.set()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        time.sleep(0.2)  # the reader thread takes the last lines

    def batches(self) -> list[tuple[int, int, int, int, bool]]:
        """(records, deleted, left for retry, highest receive count, whole batch failed) per batch."""
        out = []
        for line in self.lines:
            m = re.match(r"queue-poller: batch of (\d+): (\d+) deleted, (\d+) left for retry "
                         r"\(highest receive count (\d+)\)(.*)", line)
            if m:
                out.append((int(m[1]), int(m[2]), int(m[3]), int(m[4]), "whole batch failed" in m[5]))
        return out


def queue_depth(sqs, url: str) -> int:
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"])
    return sum(int(v) for v in a["Attributes"].values())


def main() -> int:
    started = time.monotonic()
    deadline = started + BUDGET_S
    problems: list[str] = []
    tables = stack_env()
    queue_url, dlq_url = tables.get("READINGS_QUEUE_URL"), tables.get("READINGS_DLQ_URL")
    if not queue_url or not dlq_url:
        print("stream check: FAIL: no READINGS_QUEUE_URL / READINGS_DLQ_URL in the stack's env file", file=sys.stderr)
        return 1
    sqs, ddb = sqs_client(env("PETTY_MOTO_URL")), moto_dynamodb()
    api = Api(env("PETTY_API_URL"))
    rng = random.Random()
    run = run_id()

    n = rng.randint(100_000, 899_999)
    collar, other, unregistered = f"SQ-{n}", f"SQ-{n + 1}", f"SQ-{n + 2}"
    codes = Operator.for_stack(api, email=f"ops-stream-{run}@example.com").register([collar, other])
    owner = make_owner(api, f"stream-{run}@example.com")
    for c in (collar, other):
        claim(api, owner, c, codes[c], rng)
    # A safe zone far from where the simulated collar roams: its readings from the stream are
    # an escape the alert evaluator must raise, once (alerts on the stream path).
    zone = {"name": "Elsewhere", "center": [0.0, 0.0], "radius_m": 50}
    put = api.call("PUT", f"/v1/collars/{collar}/zones/elsewhere", "check", body=zone, token=owner.token)
    if put.status != 201:
        problems.append(f"PUT zone: {put.status} {str(put.body)[:200]}")

    poller = PollerProcess()
    try:
        if not poller.ready.wait(timeout=max(1.0, deadline - time.monotonic())):
            problems.append("the queue poller did not start: " + " | ".join(poller.lines[-5:]))
            raise TimeoutError
        for url in (queue_url, dlq_url):
            if queue_depth(sqs, url) != 0:
                problems.append(f"{url.rsplit('/', 1)[-1]} was not empty before the check")

        sim = CollarSim(collar, rng.random())
        now = int(time.time())
        good = sim.batch(range(now - 10 * GOOD, now, 10))
        for i, r in enumerate(good):
            r.update(firmware=FIRMWARE, battery_pct=90 - i)
        stray = CollarSim(other, 0.5).reading(now - 5)
        bad = {
            "collar_mismatch": rule_body(stray, collar),  # the second collar's payload on the first one's topic
            "no_device_identity": rule_body(sim.reading(now - 3), None),
            "invalid_json": '{"collar_id": "' + collar + '", "timestamp": ',
            "unclaimed_collar": rule_body(CollarSim(unregistered, 0.1).reading(now - 4), unregistered),
        }
        bodies = [rule_body(r, collar) for r in good] + list(bad.values())
        rng.shuffle(bodies)
        send(sqs, queue_url, bodies)
        published_at = time.monotonic()

        # Until the good ones are stored and the bad ones dead-lettered (or the budget is spent).
        stored = dlq_depth = depth = -1
        while time.monotonic() < deadline:
            stored = stored_count(ddb, tables["READINGS_TABLE"], collar)
            dlq_depth = queue_depth(sqs, dlq_url)
            depth = queue_depth(sqs, queue_url)
            if stored >= GOOD and dlq_depth >= len(bad) and depth == 0:
                break
            time.sleep(0.5)
        settled_s = time.monotonic() - published_at
        if stored != GOOD:
            problems.append(f"{stored} readings of {collar} stored in moto, {GOOD} good ones published")
        if dlq_depth != len(bad):
            problems.append(f"{dlq_depth} messages in the dead-letter queue, {len(bad)} bad records published")
        if depth != 0:
            problems.append(f"the readings queue holds {depth} messages at the end")
        other_stored = stored_count(ddb, tables["READINGS_TABLE"], other)
        if other_stored:
            problems.append(f"{other_stored} readings stored for {other}, whose payload came under {collar}'s topic")

        # What the owner sees: the newest reading, and the fleet status.
        newest = max(good, key=lambda r: epoch(r["timestamp"]))
        rt = api.call("GET", f"/v1/realtime?collar_id={collar}", "check", token=owner.token)
        if rt.status != 200 or epoch(rt.body.get("timestamp", "1970-01-01T00:00:00Z")) != epoch(newest["timestamp"]):
            problems.append(f"GET /v1/realtime: {rt.status} {str(rt.body)[:200]}, newest published {newest['timestamp']}")
        shown = api.call("GET", f"/v1/collars/{collar}", "check", token=owner.token)
        fleet = {k: shown.body.get(k) for k in ("last_seen_at", "battery_pct", "firmware")} \
            if isinstance(shown.body, dict) else {}
        if shown.status != 200 or fleet.get("firmware") != FIRMWARE or fleet.get("battery_pct") != newest["battery_pct"] \
                or not fleet.get("last_seen_at") or epoch(fleet["last_seen_at"]) != epoch(newest["timestamp"]):
            problems.append(f"GET /v1/collars/{collar}: {shown.status} fleet status {fleet}, expected firmware "
                            f"{FIRMWARE}, battery {newest['battery_pct']}, last seen {newest['timestamp']}")

        # The escape the stream's readings make, raised once by the evaluator.
        escapes = []
        while time.monotonic() < deadline + 5:
            listed = api.call("GET", f"/v1/alerts?collar_id={collar}", "check", token=owner.token)
            escapes = [a for a in (listed.body or {}).get("alerts", []) if a.get("type") == "zone_exit"] \
                if listed.status == 200 else []
            if escapes:
                break
            time.sleep(0.3)
        if len(escapes) != 1 or escapes[0].get("status") != "open" or escapes[0].get("zone_id") != "elsewhere":
            problems.append(f"alerts of {collar}: expected one open zone_exit from the stream's readings, got {escapes}")

        # The dead letters, read back: exactly the bad bodies, each received maxReceiveCount times.
        letters = []
        while len(letters) < len(bad) and time.monotonic() < deadline + 5:
            out = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                      VisibilityTimeout=60, AttributeNames=["All"])
            letters += out.get("Messages", [])
        if sorted(m["Body"] for m in letters) != sorted(bad.values()):
            got = {m["Body"][:60] for m in letters}
            problems.append(f"dead-letter queue bodies differ from the bad records: {sorted(got)}")
        receives = sorted(int(m["Attributes"]["ApproximateReceiveCount"]) for m in letters)
        if any(r < MAX_RECEIVES for r in receives):
            problems.append(f"dead letters received {receives} times, expected at least {MAX_RECEIVES} each")
    except TimeoutError:
        pass
    finally:
        poller.stop()

    batches = poller.batches()
    whole = sum(1 for b in batches if b[4])
    deleted = sum(b[1] for b in batches)
    retried = sum(b[2] for b in batches)
    highest = max((b[3] for b in batches), default=0)
    if batches:
        if whole:
            problems.append(f"{whole} batches failed as a whole (invoke or function error)")
        if deleted != GOOD:
            problems.append(f"the poller deleted {deleted} records, {GOOD} good ones published")
        if retried != len(bad) * MAX_RECEIVES:
            problems.append(f"the poller left {retried} deliveries for retry, expected {len(bad)} bad records x "
                            f"{MAX_RECEIVES} receives = {len(bad) * MAX_RECEIVES}")
        if highest != MAX_RECEIVES:
            problems.append(f"the highest receive count the poller saw was {highest}, expected {MAX_RECEIVES}")
    elif not problems:
        problems.append("the poller logged no batch")
    elapsed = time.monotonic() - started

    if problems:
        print(f"stream check: FAIL ({len(problems)}) in {elapsed:.0f} s", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        print("  poller log (last 20 lines):", file=sys.stderr)
        for line in poller.lines[-20:]:
            print(f"    {line}", file=sys.stderr)
        return 1
    print(f"stream check: OK in {elapsed:.0f} s: {GOOD} good readings stored once (moto count), realtime shows the "
          f"newest, fleet status firmware {FIRMWARE} battery {newest['battery_pct']:g}%; {len(bad)} bad records "
          f"({', '.join(bad)}) received {MAX_RECEIVES} times each, then in the dead-letter queue; readings queue "
          f"empty; one zone_exit raised from the stream's readings; poller: {len(batches)} batches, {deleted} deleted, {retried} retried, settled {settled_s:.0f} s "
          f"after publishing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
