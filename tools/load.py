#!/usr/bin/env python3
"""Load against the local stack: collars ingesting, owners reading, for a fixed time.

    tools/with_stack.sh load .venv/bin/python tools/load.py [--collars 20] [--owners 5] [--duration 60]
    tools/with_stack.sh load .venv/bin/python tools/load.py --bounded     # 6 collars, 2 owners, 20 s

An operator (tools/loadlib.py's Operator: an account granted `admin` with
`tools/local_aws.py grant-scope`) registers the --collars collars through
`POST /v1/admin/collars`; each of --owners owners registers, logs in and claims its share with
the codes the operator got (at most 10 each: the claim limits per account), and each collar
gets its own API key. As first owners, they see the readings from before the claim too. Then, concurrently (one thread each) until
--duration is over:

  collars  send the last 10 minutes (one reading per 10 s) once, then every ~--interval
           seconds a batch of one reading per second since their last batch (rest/walk/play
           states that last minutes, heart rate, GPS walk, temperature, battery), and with
           probability --resend send their previous batch again, which must come back as
           all duplicates;
  owners   read one of their collars' realtime and a short timeline window (--window), about
           every --read-interval seconds.

Afterwards it asserts: no 5xx, no other unexpected status and no transport error on any
route; for every collar, the readings stored in moto (counted directly with boto3, bypassing
the functions) equal the distinct readings sent and the sum of `accepted` the API reported,
the duplicates reported equal the readings resent, and realtime shows the newest reading. It
prints requests/s and p50/p99 per route, and exits 1 on any failure.

The figures are for the local stack: `cargo lambda watch` runs PETTY_CONCURRENCY instances
per function (default 4) on 2 cores, against moto (one Python process); they are not a
prediction for AWS. Loopback only; stops by itself.
"""
from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from collections import defaultdict
from datetime import datetime

from loadlib import (CLAIMS_PER_OWNER, Api, Operator, check_collar, claim, env, ingest, make_owner, moto_dynamodb,
                     percentile, run_id, stack_env)

LOCAL_NOTE = ("local stack: `cargo lambda watch`, a few instances per function on 2 cores, "
              "against moto; not a prediction for AWS")


def collar_loop(api: Api, collar, stop_at: float, interval: float, resend_p: float, rng: random.Random, issues: list):
    sim = collar.sim
    now = int(time.time())
    # The last ten minutes, one reading per 10 s (what a collar buffered while offline).
    backfill = sim.batch(range(now - 600, now - 10, 10))
    a = ingest(api, collar, backfill)
    check_answer(collar, backfill, a, False, issues)
    next_ts = now - 9
    previous = backfill
    time.sleep(rng.uniform(0, interval))
    while time.time() < stop_at:
        now = int(time.time())
        if now > next_ts:
            batch = sim.batch(range(next_ts, now))
            next_ts = now
            if batch:
                a = ingest(api, collar, batch)
                check_answer(collar, batch, a, False, issues)
                if previous and rng.random() < resend_p:
                    a = ingest(api, collar, previous, resend=True)
                    check_answer(collar, previous, a, True, issues)
                previous = batch
        time.sleep(max(0.0, min(interval * rng.uniform(0.8, 1.2), stop_at - time.time())))


def check_answer(collar, batch, a, resend: bool, issues: list):
    if a.status != 200 or not isinstance(a.body, dict):
        return  # counted with the statuses
    got = (a.body.get("accepted"), a.body.get("duplicates"), len(a.body.get("rejected", [])), len(a.body.get("not_stored", [])))
    want = (0, len(batch), 0, 0) if resend else (len(batch), 0, 0, 0)
    if got != want:
        issues.append(f"{collar.collar_id}: {'resend' if resend else 'batch'} of {len(batch)}: "
                      f"(accepted, duplicates, rejected, not_stored) = {got}, expected {want}")


def owner_loop(api: Api, owner, stop_at: float, every: float, window_s: int, rng: random.Random, issues: list):
    from loadlib import iso
    time.sleep(rng.uniform(0, every))
    while time.time() < stop_at:
        collar = rng.choice(owner.collars)
        sent_at = time.time()
        a = api.call("GET", f"/v1/realtime?collar_id={collar.collar_id}", "GET /v1/realtime", token=owner.token)
        if a.status == 404 and (collar.first_stored_at is None or collar.first_stored_at > sent_at):
            a.before_first_reading = True  # asked before any reading of this collar was stored
        if a.status == 200 and a.body.get("collar_id") != collar.collar_id:
            issues.append(f"realtime {collar.collar_id} answered {a.body}")
        now = time.time()
        q = f"collar_id={collar.collar_id}&from={iso(now - window_s)}&to={iso(now)}&limit=100"
        a = api.call("GET", f"/v1/pet-timeline?{q}", "GET /v1/pet-timeline", token=owner.token)
        if a.status == 200 and not isinstance(a.body.get("timeline"), list):
            issues.append(f"timeline {collar.collar_id} answered no timeline: {str(a.body)[:200]}")
        time.sleep(max(0.0, min(every * rng.uniform(0.7, 1.3), stop_at - time.time())))


def epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--collars", type=int, default=20)
    p.add_argument("--owners", type=int, default=5)
    p.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    p.add_argument("--interval", type=float, default=5.0, help="seconds between a collar's batches")
    p.add_argument("--resend", type=float, default=0.2, help="chance a collar resends its previous batch")
    p.add_argument("--read-interval", type=float, default=1.5, help="seconds between an owner's reads")
    p.add_argument("--window", type=int, default=900, help="timeline window, seconds (moto is slow on big Query pages)")
    p.add_argument("--bounded", action="store_true", help="the make-test preset: 6 collars, 2 owners, 20 s")
    p.add_argument("--seed", type=int, default=None)
    args = p.parse_args()
    if args.bounded:
        args.collars, args.owners, args.duration = 6, 2, 20.0
    if not 1 <= args.owners <= args.collars <= 500 or not 1 <= args.duration <= 600:
        p.error("need 1 <= owners <= collars <= 500 and a duration of 1-600 s")
    if -(-args.collars // args.owners) > CLAIMS_PER_OWNER:
        p.error(f"an owner claims at most {CLAIMS_PER_OWNER} collars per 15 minutes: raise --owners")

    rng = random.Random(args.seed)
    tables = stack_env()
    ddb = moto_dynamodb()
    setup = Api(env("PETTY_API_URL"))
    run = run_id()
    t0 = time.monotonic()
    serials = [f"LD-{i + 1:06d}" for i in range(args.collars)]
    codes = Operator.for_stack(setup, email=f"ops-load-{run}@example.com").register(serials)
    owners = [make_owner(setup, f"load-{run}-{i}@example.com") for i in range(args.owners)]
    collars = [claim(setup, owners[i % len(owners)], serial, codes[serial], rng) for i, serial in enumerate(serials)]
    print(f"load: {len(collars)} collars registered by an operator, claimed by {len(owners)} owners "
          f"in {time.monotonic() - t0:.1f} s; "
          f"{args.duration:.0f} s of load ({LOCAL_NOTE})", flush=True)

    api = Api(env("PETTY_API_URL"))
    issues: list[str] = []
    started = time.time()
    stop_at = started + args.duration
    threads = [threading.Thread(target=collar_loop, args=(api, c, stop_at, args.interval, args.resend,
                                                          random.Random(rng.random()), issues), daemon=True)
               for c in collars]
    threads += [threading.Thread(target=owner_loop, args=(api, o, stop_at, args.read_interval, args.window,
                                                          random.Random(rng.random()), issues), daemon=True)
                for o in owners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(1.0, stop_at - time.time() + 60))
    elapsed = time.time() - started
    api.recording = False
    if any(t.is_alive() for t in threads):
        issues.append("a client thread was still waiting for an answer 60 s after the end")

    # ---------------------------------------------------------------- figures
    by_route: dict[str, list] = defaultdict(list)
    for a in list(api.answers):
        by_route[a.route].append(a)
    total = sum(len(v) for v in by_route.values())
    print(f"\n{total} requests in {elapsed:.1f} s: {total / elapsed:.1f} requests/s overall ({LOCAL_NOTE})")
    print(f"  {'route':<24} {'count':>6} {'req/s':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  statuses")
    for route, answers in sorted(by_route.items()):
        lat = [a.latency_s * 1000 for a in answers]
        statuses = defaultdict(int)
        for a in answers:
            statuses[a.status or a.error.split(":")[0]] += 1
        st = ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items(), key=lambda kv: str(kv[0])))
        print(f"  {route:<24} {len(answers):>6} {len(answers) / elapsed:>6.1f} {percentile(lat, 50):>8.0f} "
              f"{percentile(lat, 99):>8.0f} {max(lat):>8.0f}  {st}")
        for a in answers:
            if a.status >= 500 or a.status == 0:
                issues.append(f"{route}: {a.status or a.error} {str(a.body)[:200]}")
            elif a.status >= 400 and not getattr(a, "before_first_reading", False):
                issues.append(f"{route}: unexpected {a.status} {str(a.body)[:200]}")

    # ---------------------------------------------------------------- stored exactly once
    stored_total = sent_total = resent_total = dup_total = accepted_total = 0
    for c in collars:
        stored, problems = check_collar(ddb, tables["READINGS_TABLE"], c)
        issues.extend(problems)
        if c.duplicates != c.resent:
            issues.append(f"{c.collar_id}: {c.duplicates} duplicates reported, {c.resent} readings resent")
        latest = setup.call("GET", f"/v1/realtime?collar_id={c.collar_id}", "check", token=c.owner.token)
        newest = max(epoch(ts) for ts in c.sent)
        if latest.status != 200 or epoch(latest.body["timestamp"]) != newest:
            issues.append(f"{c.collar_id}: realtime shows {latest.status} {latest.body}, newest sent {newest}")
        stored_total += stored
        sent_total += len(c.sent)
        resent_total += c.resent
        dup_total += c.duplicates
        accepted_total += c.accepted
    print(f"\nreadings: {sent_total} distinct sent, {accepted_total} reported accepted, {stored_total} stored in moto "
          f"(counted per collar with boto3); {resent_total} resent, {dup_total} reported duplicates; "
          f"{accepted_total / elapsed:.1f} readings/s accepted")

    if issues:
        print(f"\nFAIL: {len(issues)} problems", file=sys.stderr)
        for i in issues[:40]:
            print(f"  {i}", file=sys.stderr)
        return 1
    print("load: OK (no 5xx, every accepted reading stored exactly once, every resend reported as duplicates)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
