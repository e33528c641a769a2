#!/usr/bin/env python3
"""Alert latency on a fresh local stack (`make bench` runs it through tools/with_stack.sh):
numbers, never pass/fail.

  - reading -> alert: a collar with a zone; each round ingests two fixes outside it in one
    `POST /v1/ingest` (the second confirms the escape) and polls `GET /v1/alerts` every 20 ms
    until the new alert is listed; then two fixes inside, until it is resolved. p50/p99 of
    the time from the ingest's answer to the alert being visible, over --rounds rounds.
  - ingest with alert evaluation on and off: --ingests `POST /v1/ingest` calls of 10 readings
    each with the readings stream poller (the evaluator's trigger) running, then with it
    paused (SIGSTOP, its pid in PETTY_STREAM_POLLER_PID), alternating blocks of 10 so drift
    hits both alike. With the stream as the trigger, ingest does no alert work at all: the
    two should match within noise.
  - the evaluator's own time per batch, from the poller's log (what inline evaluation would
    have added to every ingest answer).

Prints one JSON object on stdout (bench.py folds it into its run).
"""
from __future__ import annotations

import json
import os
import re
import signal
import statistics
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadlib import Operator  # noqa: E402

API = os.environ["PETTY_API_URL"]
HOME = (52.52, 13.405)
AWAY = (52.5236, 13.405)  # ~400 m north


def call(method: str, path: str, body=None, headers=None) -> tuple[int, dict, float]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(API + path, data=data, method=method)
    req.add_header("content-type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    t = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            text = resp.read().decode() or "null"
            return resp.status, json.loads(text), time.monotonic() - t
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read().decode() or "null"), time.monotonic() - t


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return round(s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))], 1)


def fixes(collar: str, start: datetime, where: tuple[float, float], n: int) -> list[dict]:
    return [{"collar_id": collar, "timestamp": (start + timedelta(milliseconds=100 * i)).isoformat(timespec="milliseconds")
             .replace("+00:00", "Z"), "heart_rate": 80, "activity_level": 0, "accuracy_m": 5,
             "location": {"type": "Point", "coordinates": [where[1], where[0]]}} for i in range(n)]


def main() -> None:
    rounds = int(os.environ.get("ALERT_ROUNDS", "20"))
    ingests = int(os.environ.get("ALERT_INGESTS", "60"))
    poller = int(os.environ["PETTY_STREAM_POLLER_PID"])

    def api(method, path, body=None, token=None):
        s, b, _ = call(method, path, body, {"authorization": f"Bearer {token}"} if token else None)
        return s, b

    collar = "BN-000001"
    code = Operator(api, endpoint=os.environ["PETTY_MOTO_URL"], stage=os.environ["PETTY_STACK_STAGE"]).register([collar])[collar]
    creds = {"email": "bench-alerts@petty.local", "password": "correct horse battery staple"}
    api("POST", "/v1/auth/register", {**creds, "name": "Bench"})
    s, body = api("POST", "/v1/auth/login", creds)
    assert s == 200, body
    bearer = {"authorization": f"Bearer {body['access_token']}"}
    pet = {"name": "Rex", "species": "dog", "weight_kg": 20}
    s, body, _ = call("POST", "/v1/collars", {"collar_id": collar, "claim_code": code, "pet": pet}, bearer)
    assert s in (200, 201), body
    zone = {"name": "Home", "center": [HOME[1], HOME[0]], "radius_m": 150}
    s, body, _ = call("PUT", f"/v1/collars/{collar}/zones/home", zone, bearer)
    assert s in (200, 201), body

    # Readings 100 ms apart from two minutes ago: all fresh, none in the future.
    clock = datetime.now(timezone.utc) - timedelta(minutes=2)

    def ingest(where, n):
        nonlocal clock
        batch = fixes(collar, clock, where, n)
        clock += timedelta(milliseconds=100 * n)
        s, body, took = call("POST", "/v1/ingest", {"readings": batch}, bearer)
        if s != 200 or body["accepted"] != n:
            raise SystemExit(f"alert bench: ingest answered {s}: {body}")
        return took

    def wait_for(status: str, count: int) -> float:
        t = time.monotonic()
        while time.monotonic() - t < 60:
            s, body, _ = call("GET", f"/v1/alerts?collar_id={collar}&status={status}&limit=100", None, bearer)
            if s == 200 and len(body["alerts"]) >= count:
                return time.monotonic() - t
            time.sleep(0.02)
        raise SystemExit(f"alert bench: no {status} alert #{count} within 60 s")

    ingest(HOME, 2)
    opened, resolved = [], []
    for i in range(rounds):
        ingest(AWAY, 2)
        opened.append(wait_for("open", 1) * 1000)
        ingest(HOME, 2)
        resolved.append(wait_for("resolved", i + 1) * 1000)
        call("GET", f"/v1/alerts?collar_id={collar}&status=open", None, bearer)

    on, off = [], []
    try:
        for block in range(ingests // 10):
            paused = block % 2 == 1
            os.kill(poller, signal.SIGSTOP if paused else signal.SIGCONT)
            for _ in range(10):
                (off if paused else on).append(ingest(HOME, 10) * 1000)
    finally:
        os.kill(poller, signal.SIGCONT)

    log = Path(os.environ.get("PETTY_STREAM_POLLER_LOG", ""))
    batch_ms = [float(m.group(1)) for m in re.finditer(r"records, ok, retries 0, (\d+) ms", log.read_text())] \
        if log.is_file() else []
    print(json.dumps({
        "rounds": rounds,
        "reading_to_alert_open_ms": {"p50": pct(opened, 50), "p99": pct(opened, 99), "max": round(max(opened), 1)},
        "reading_to_alert_resolved_ms": {"p50": pct(resolved, 50), "p99": pct(resolved, 99)},
        "ingest_10_readings_ms": {
            "evaluation_on": {"n": len(on), "p50": pct(on, 50), "p99": pct(on, 99)},
            "evaluation_off": {"n": len(off), "p50": pct(off, 50), "p99": pct(off, 99)},
        },
        "evaluator_invoke_ms": {"n": len(batch_ms), "p50": pct(batch_ms, 50) if batch_ms else None,
                                "mean": round(statistics.mean(batch_ms), 1) if batch_ms else None},
    }))


if __name__ == "__main__":
    main()
