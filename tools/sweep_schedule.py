#!/usr/bin/env python3
"""The LOCAL STAND-IN for the alert sweep's schedule (template.yaml: AlertSweepFunction,
`Type: ScheduleV2`, rate(5 minutes)). moto stores EventBridge Scheduler schedules but fires
none, so locally this process invokes petty-alert-sweep with the event EventBridge Scheduler
sends (its detail-type, source, time and resources), every --every seconds (10 by default:
a local collar can go silent within a test's patience), through `cargo lambda watch`'s
invoke endpoint.

    .venv/bin/python tools/sweep_schedule.py --api http://127.0.0.1:9000 [--every 10] [--once]

`--once` invokes one sweep and prints its report (what `make sweep` does). Logs one line per
sweep that found something (counts only).
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

FUNCTION = "petty-alert-sweep"


def scheduled_event() -> dict:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.scheduler",
        "account": "123456789012", "time": now, "region": "us-east-1",
        "resources": ["arn:aws:scheduler:us-east-1:123456789012:schedule/default/petty-local-alert-sweep"],
        "detail": "{}",
    }


def sweep(api: str, timeout: float = 120) -> dict | None:
    url = f"{api.rstrip('/')}/2015-03-31/functions/{FUNCTION}/invocations"
    req = urllib.request.Request(url, data=json.dumps(scheduled_event()).encode(), method="POST",
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            answer = json.loads(resp.read() or b"{}")
            if resp.headers.get("X-Amz-Function-Error") or "errorType" in answer:
                return None
            return answer
    except (OSError, ValueError):
        return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--api", required=True)
    ap.add_argument("--every", type=float, default=10)
    ap.add_argument("--once", action="store_true")
    args = ap.parse_args()
    if args.once:
        report = sweep(args.api, timeout=900)
        if report is None:
            sys.exit("sweep failed")
        print(json.dumps(report))
        return
    stop = {"now": False}
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.update(now=True))
    while not stop["now"]:
        report = sweep(args.api, timeout=900)
        if report is None:
            print("sweep-schedule: the sweep failed (retried next tick)", flush=True)
        elif report.get("checked"):
            print(f"sweep-schedule: checked {report['checked']}, raised {report['raised']}, "
                  f"lag {report['lag_s']} s", flush=True)
        end = time.monotonic() + args.every
        while not stop["now"] and time.monotonic() < end:
            time.sleep(0.2)


if __name__ == "__main__":
    main()
