#!/usr/bin/env python3
"""Alert latency on a fresh local stack (`make bench` runs it through tools/with_stack.sh):
numbers, never pass/fail.

  - reading -> alert: a collar with a zone; each round ingests two fixes outside it in one
    `POST /v1/ingest` (the second confirms the escape) and polls `GET /v1/alerts` every 20 ms
    until the new alert is listed; then two fixes inside, until it is resolved. p50/p99 of
    the time from the ingest's answer to the alert being visible, over ALERT_ROUNDS rounds.
  - reading -> webhook: the bench owner has a webhook to a local receiver
    (tools/webhook_receiver.py, in this process on a free 127.0.0.1 port, verifying the
    signature with the secret the registration returned); for each escape above, the time from
    the ingest's answer to the receiver getting the escape's verified `alert.opened` delivery
    (readings stream -> evaluator -> alerts stream -> petty-notifier -> POST). Rounds whose
    delivery does not come within WEBHOOK_WAIT_S (30) count as missed; after three misses in
    a row from the start (no notifier, no delivery at all) it stops waiting. When the webhook
    cannot be registered (the notifications function not built) the figure is null.
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
from webhook_receiver import Receiver  # noqa: E402

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

    # The owner's webhook to a receiver in this process (its secret on file, for verification).
    secret_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"petty-bench-webhook-{os.getpid()}"
    receiver = Receiver(port=0, secret_file=str(secret_file), quiet=True).start()
    webhook_note = ""
    s, body, _ = call("POST", "/v1/notifications/webhooks", {"url": f"{receiver.url}/bench", "name": "bench receiver"},
                      bearer)
    if s == 201 and isinstance(body, dict) and isinstance(body.get("secret"), str):
        fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(body["secret"])
    else:
        webhook_note = f"POST /v1/notifications/webhooks answered {s}: no webhook figure"
        print(f"alert bench: {webhook_note}", file=sys.stderr, flush=True)
    webhook_wait = float(os.environ.get("WEBHOOK_WAIT_S", "30"))

    # Readings 100 ms apart from two minutes ago: all fresh, none in the future.
    clock = datetime.now(timezone.utc) - timedelta(minutes=2)

    answered_ms = 0.0  # wall clock of the last ingest's answer (the receiver stamps deliveries so)

    def ingest(where, n):
        nonlocal clock, answered_ms
        batch = fixes(collar, clock, where, n)
        clock += timedelta(milliseconds=100 * n)
        s, body, took = call("POST", "/v1/ingest", {"readings": batch}, bearer)
        answered_ms = time.time() * 1000
        if s != 200 or body["accepted"] != n:
            raise SystemExit(f"alert bench: ingest answered {s}: {body}")
        return took

    def wait_for(status: str, count: int) -> tuple[float, list[dict]]:
        t = time.monotonic()
        while time.monotonic() - t < 60:
            s, body, _ = call("GET", f"/v1/alerts?collar_id={collar}&status={status}&limit=100", None, bearer)
            if s == 200 and len(body["alerts"]) >= count:
                return time.monotonic() - t, body["alerts"]
            time.sleep(0.02)
        raise SystemExit(f"alert bench: no {status} alert #{count} within 60 s")

    def webhook_received(alert_id: str) -> dict | None:
        """The receiver's verified alert.opened delivery of `alert_id`, waited for."""
        deadline = time.monotonic() + webhook_wait
        while time.monotonic() < deadline:
            for r in receiver.received():
                b = r["body"] if isinstance(r["body"], dict) else {}
                if r["verified"] and b.get("event") == "alert.opened" and (b.get("alert") or {}).get("alert_id") == alert_id:
                    return r
            time.sleep(0.01)
        return None

    ingest(HOME, 2)
    opened, resolved, webhook_ms = [], [], []
    missed = 0
    for i in range(rounds):
        ingest(AWAY, 2)
        escaped_ms = answered_ms
        took, alerts = wait_for("open", 1)
        opened.append(took * 1000)
        if not webhook_note:
            escape = next((a for a in alerts if a.get("type") == "zone_exit"), alerts[0])
            got = webhook_received(escape["alert_id"])
            if got is not None:
                webhook_ms.append(got["received_at_ms"] - escaped_ms)
            else:
                missed += 1
                if missed == 3 and not webhook_ms:
                    webhook_note = f"no verified alert.opened delivery within {webhook_wait:g} s in 3 escapes: gave up"
                    print(f"alert bench: {webhook_note}", file=sys.stderr, flush=True)
        ingest(HOME, 2)
        resolved.append(wait_for("resolved", i + 1)[0] * 1000)
        call("GET", f"/v1/alerts?collar_id={collar}&status=open", None, bearer)
    unverified = sum(1 for r in receiver.received() if not r["verified"])
    receiver.stop()
    secret_file.unlink(missing_ok=True)

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
        "webhook_p50_ms": pct(webhook_ms, 50) if webhook_ms else None,
        "webhook_p99_ms": pct(webhook_ms, 99) if webhook_ms else None,
        "reading_to_webhook_ms": {"n": len(webhook_ms), "missed": missed, "unverified_deliveries": unverified,
                                  "p50": pct(webhook_ms, 50) if webhook_ms else None,
                                  "p99": pct(webhook_ms, 99) if webhook_ms else None,
                                  "max": round(max(webhook_ms), 1) if webhook_ms else None,
                                  **({"note": webhook_note} if webhook_note else {})},
        "ingest_10_readings_ms": {
            "evaluation_on": {"n": len(on), "p50": pct(on, 50), "p99": pct(on, 99)},
            "evaluation_off": {"n": len(off), "p50": pct(off, 50), "p99": pct(off, 99)},
        },
        "evaluator_invoke_ms": {"n": len(batch_ms), "p50": pct(batch_ms, 50) if batch_ms else None,
                                "mean": round(statistics.mean(batch_ms), 1) if batch_ms else None},
    }))


if __name__ == "__main__":
    main()
