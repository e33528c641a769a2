#!/usr/bin/env python3
"""Fault scenarios against the local stack, through tools/fault_proxy.py (between the functions
and moto). Each asserts behaviour; the run exits 1 if any fails. Bounded (~1-2 min), loopback
only, stops by itself.

    tools/with_stack.sh faults .venv/bin/python tools/faults.py [--only outage,rotation,throttle]

outage    moto's endpoint goes away mid-run (POST /down) for --outage seconds (longer than
          SECRET_TTL_SECONDS, so cached secrets must be served stale) while a collar keeps
          ingesting and a client probes every route: data routes and login answer 503 with
          Retry-After and a JSON body whose request_id equals X-Request-ID, fast (well inside
          the functions' 10 s budget); nothing hangs. After POST /up every route succeeds again
          without restarting a function (time to recover measured), the collar's resends of
          what failed are stored, and moto holds every distinct reading exactly once.
rotation  `tools/local_aws.py keys` rotates the JWT key set mid-run while one client keeps
          calling three functions (data processor, timeline, auth) with a token issued before,
          and another logs in every second and uses each new token at once: the old token never
          fails, new logins get the new kid within SECRET_TTL_SECONDS (+ slack), and no token
          signed with the new key is refused (the verifiers' JWKS cache refetches at once on an
          unknown kid; forced refetches at most every 10 s). The switch-over is measured and
          printed.
throttle  DynamoDB answers ProvisionedThroughputExceededException (POST /throttle): within the
          SDK's retry budget (3 attempts) ingest, realtime, timeline and login still succeed;
          past it they answer 503 + Retry-After + request id, and the client's resend succeeds;
          a 500-reading batch partly throttled names exactly what it did not store, and a
          resend of the whole batch stores those and reports the rest as duplicates; four
          collars ingesting concurrently under throttling store everything once. The proxy's
          counters prove the throttles were injected.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

from loadlib import (Api, Answer, Operator, Proxy, check_collar, claim, env, ingest, ingest_until_stored, iso, login,
                     make_owner, moto_dynamodb, percentile, run_id, stack_env, token_kid)

ROOT = Path(__file__).resolve().parent.parent
FUNCTION_BUDGET_S = 10.0  # template.yaml: Timeout 10 for the functions probed here
SECRET_TTL_S = 10.0       # tools/local_aws.py writes SECRET_TTL_SECONDS=10 for the local stack


class Scenario:
    def __init__(self, name: str):
        self.name, self.failures, self.notes = name, [], []

    def check(self, ok: bool, what: str) -> bool:
        if not ok:
            self.failures.append(what)
        return ok

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  [{self.name}] {text}", flush=True)


class Ctx:
    def __init__(self):
        self.api = Api(env("PETTY_API_URL"))
        self.api.recording = False
        self.proxy = Proxy(env("PETTY_FAULT_URL"))
        self.tables = stack_env()
        self.ddb = moto_dynamodb()
        self.rng = random.Random()
        self.run = run_id()
        self.serial = 0
        # Registers every scenario's collars (tools/loadlib.py: granted `admin` in moto).
        self.operator = Operator.for_stack(self.api, email=f"ops-faults-{self.run}@example.com")

    def owner_with_collars(self, tag: str, n: int = 1):
        """An owner and `n` collars: registered by the operator, claimed with their codes."""
        owner = make_owner(self.api, f"faults-{tag}-{self.run}@example.com")
        serials = []
        for _ in range(n):
            self.serial += 1
            serials.append(f"FT-{self.rng.randint(1, 9999):04d}{self.serial:02d}")
        codes = self.operator.register(serials)
        collars = [claim(self.api, owner, s, codes[s], self.rng) for s in serials]
        return owner, collars

    def check_stored(self, sc: Scenario, collars, ambiguous_ok: bool) -> None:
        for c in collars:
            stored, problems = check_collar(self.ddb, self.tables["READINGS_TABLE"], c, ambiguous_ok)
            for p in problems:
                sc.check(False, p)
            sc.note(f"{c.collar_id}: {len(c.sent)} distinct readings sent, {stored} stored in moto, "
                    f"{c.accepted} reported accepted, {c.duplicates} duplicates")


def error_shape(sc: Scenario, a: Answer, what: str, retry_after: bool = True) -> None:
    """A 503 as the shared error mapping writes it: JSON {"error": {code, message}, "request_id"}
    with request_id = X-Request-ID, and Retry-After."""
    rid = a.headers.get("x-request-id", "")
    sc.check(a.status == 503, f"{what}: expected 503, got {a.status or a.error} {str(a.body)[:200]}")
    if a.status != 503:
        return
    sc.check(bool(rid), f"{what}: 503 without X-Request-ID")
    if retry_after:
        sc.check(a.headers.get("retry-after", "").isdigit(), f"{what}: 503 without Retry-After")
    # Every 503 body names the request id, as the header does: the shared error shape, and the
    # ingest and readiness reports alike.
    body = a.body if isinstance(a.body, dict) else {}
    sc.check(body.get("request_id") == rid and bool(rid), f"{what}: 503 body ({', '.join(sorted(body)) or 'not JSON'}) "
                                                            f"request_id {body.get('request_id')!r} != X-Request-ID {rid!r}")


# --------------------------------------------------------------------------- outage
def outage(ctx: Ctx, sc: Scenario, down_s: float) -> None:
    api, px = ctx.api, ctx.proxy
    owner, (collar,) = ctx.owner_with_collars("outage")
    now = int(time.time())
    ingest_until_stored(api, collar, collar.sim.batch(range(now - 300, now - 60, 10)))
    routes = {
        "POST /v1/auth/login": lambda: api.call("POST", "/v1/auth/login", "POST /v1/auth/login",
                                                 body={"email": owner.email, "password": "correct horse battery staple"}),
        "GET /v1/auth/me": lambda: api.call("GET", "/v1/auth/me", "GET /v1/auth/me", token=owner.token),
        "GET /v1/collars": lambda: api.call("GET", "/v1/collars", "GET /v1/collars", token=owner.token),
        "GET /v1/realtime": lambda: api.call("GET", f"/v1/realtime?collar_id={collar.collar_id}", "GET /v1/realtime",
                                             token=owner.token),
        "GET /v1/pet-timeline": lambda: api.call(
            "GET", f"/v1/pet-timeline?collar_id={collar.collar_id}&from={iso(time.time() - 600)}&to={iso(time.time())}",
            "GET /v1/pet-timeline", token=owner.token),
        "GET /v1/feedback/summary": lambda: api.call("GET", f"/v1/feedback/summary?collar_id={collar.collar_id}",
                                                     "GET /v1/feedback/summary", token=owner.token),
        "GET /v1/health/ready": lambda: api.call("GET", "/v1/health/ready", "GET /v1/health/ready"),
    }
    for name, call in routes.items():  # warm: every function has its secrets and connections
        a = call()
        sc.check(a.status == 200, f"before the outage {name}: {a.status} {str(a.body)[:200]}")

    # A collar ingesting once a second throughout; what fails is kept and resent afterwards.
    stop = threading.Event()
    pending: list[list[dict]] = []
    collar_answers: list[Answer] = []

    def collar_loop():
        next_ts = int(time.time()) - 30
        while not stop.is_set():
            now_ts = int(time.time())
            batch = collar.sim.batch(range(next_ts, now_ts))
            next_ts = now_ts
            if batch:
                a = ingest(api, collar, batch)
                collar_answers.append(a)
                if a.status != 200:
                    pending.append(batch)
            stop.wait(1.0)

    t = threading.Thread(target=collar_loop, daemon=True)
    t.start()
    time.sleep(1.5)

    down_at = time.monotonic()
    px.post("/down")
    probes: list[Answer] = []
    while time.monotonic() - down_at < down_s:
        for name, call in routes.items():
            a = call()
            probes.append(a)
            if name == "GET /v1/health/ready":
                error_shape(sc, a, f"during the outage {name}", retry_after=False)
            else:
                error_shape(sc, a, f"during the outage {name}")
        time.sleep(0.3)
    during_collar = [a for a in collar_answers if a.started >= time.time() - (time.monotonic() - down_at)]
    up_at = time.monotonic()
    px.post("/up")

    # Every route probed at once from /up on (one thread each) until its first 200.
    up_wall = time.time()
    recovered: dict[str, tuple[float, int]] = {}  # route: (its first 200 started, s after /up; failures before)

    def until_ok(name, call):
        failures = 0
        while time.monotonic() - up_at < 30:
            a = call()
            if a.status == 200:
                recovered[name] = (a.started - up_wall, failures)
                if name == "POST /v1/auth/login":
                    owner.token = a.body["access_token"]
                return
            failures += 1
            time.sleep(0.2)

    probers = [threading.Thread(target=until_ok, args=item, daemon=True) for item in routes.items()]
    for th in probers:
        th.start()
    for th in probers:
        th.join(timeout=40)
    time.sleep(2.0)
    stop.set()
    t.join(timeout=30)
    sc.check(not t.is_alive(), "the ingesting collar was stuck after the outage")
    for name in routes:
        sc.check(name in recovered, f"{name} did not succeed within 30 s of /up")

    # The collar resends what was not stored (whole batches: stored readings come back as duplicates).
    resent = 0
    for batch in pending:
        ingest_until_stored(api, collar, batch)
        resent += len(batch)
    ctx.check_stored(sc, [collar], ambiguous_ok=True)

    lat = [a.latency_s for a in probes + during_collar if a.status != 200]
    n503 = sum(1 for a in probes + during_collar if a.status == 503)
    worst = max(lat) if lat else float("nan")
    sc.check(bool(lat), "no request was made while the endpoint was down")
    sc.check(worst < FUNCTION_BUDGET_S - 1, f"a request took {worst:.1f} s while the endpoint was down "
                                            f"(function budget {FUNCTION_BUDGET_S:.0f} s)")
    other = sorted({f"{a.route} {a.status or a.error}" for a in probes + during_collar
                    if a.status not in (200, 503)})
    sc.check(not other, f"answers other than 503 during the outage: {other}")
    ok_during = sorted({a.route for a in probes if a.status == 200})
    sc.check(not ok_during, f"routes answering 200 with storage down: {ok_during}")
    sc.note(f"endpoint down {down_s:.0f} s: {n503} answers 503 ({len(probes)} probes over {len(routes)} routes, "
            f"{len(during_collar)} collar batches), latency p50 {percentile(lat, 50) * 1000:.0f} ms, "
            f"max {worst * 1000:.0f} ms; every 503 with Retry-After and X-Request-ID")
    fails_after = sum(f for _, f in recovered.values())
    sc.note(f"after /up every route answered 200 without a restart; failed attempts after /up: {fails_after}; "
            "first 200 sent at (s after /up): " +
            ", ".join(f"{k.split(' ', 1)[1]} {v[0]:.2f}" for k, v in sorted(recovered.items(), key=lambda kv: kv[1])))
    sc.note(f"collar: {len(pending)} batches ({resent} readings) not stored during the outage, resent after it")


# --------------------------------------------------------------------------- rotation
def rotation(ctx: Ctx, sc: Scenario, watch_s: float) -> None:
    api = ctx.api
    owner, (collar,) = ctx.owner_with_collars("rotation")
    now = int(time.time())
    ingest_until_stored(api, collar, collar.sim.batch(range(now - 120, now, 10)))
    old_token = owner.token
    old_kid = token_kid(old_token)

    def calls(token: str) -> list[Answer]:
        t = time.time()
        return [
            api.call("GET", f"/v1/realtime?collar_id={collar.collar_id}", "GET /v1/realtime", token=token),
            api.call("GET", f"/v1/pet-timeline?collar_id={collar.collar_id}&from={iso(t - 300)}&to={iso(t)}",
                     "GET /v1/pet-timeline", token=token),
            api.call("GET", "/v1/auth/me", "GET /v1/auth/me", token=token),
        ]

    for a in calls(old_token):
        sc.check(a.status == 200, f"before rotation {a.route}: {a.status}")

    stop = threading.Event()
    old_results: list[Answer] = []
    logins: list[tuple[float, str, list[Answer]]] = []  # (time, kid, the new token's calls)

    def old_client():
        while not stop.is_set():
            old_results.extend(calls(old_token))
            stop.wait(0.2)

    def new_client():
        while not stop.is_set():
            a = api.call("POST", "/v1/auth/login", "POST /v1/auth/login",
                         body={"email": owner.email, "password": "correct horse battery staple"})
            if a.status != 200:
                logins.append((a.started, "", [a]))
            else:
                token = a.body["access_token"]
                logins.append((a.started, token_kid(token), calls(token)))
            stop.wait(0.7)

    threads = [threading.Thread(target=old_client, daemon=True), threading.Thread(target=new_client, daemon=True)]
    for t in threads:
        t.start()
    time.sleep(4.0)
    rotated_at = time.time()
    out = subprocess.run([sys.executable, str(ROOT / "tools/local_aws.py"), "keys", "--endpoint", env("PETTY_MOTO_URL"),
                          "--stage", env("PETTY_STACK_STAGE")], capture_output=True, text=True, timeout=60)
    if not sc.check(out.returncode == 0, f"local_aws.py keys failed: {out.stderr[-500:]}"):
        stop.set()
        return
    new_kid = json.loads(out.stdout.strip().splitlines()[-1])["current_kid"]
    time.sleep(watch_s)
    stop.set()
    for t in threads:
        t.join(timeout=30)

    # The token issued before the rotation: never refused.
    bad_old = [a for a in old_results if a.status != 200]
    sc.check(not bad_old, f"the pre-rotation token failed {len(bad_old)} times: "
                          f"{sorted({f'{a.route} {a.status}' for a in bad_old})}")
    # New logins switch to the new kid within the signing cache's TTL.
    login_fail = [l for l in logins if not l[1]]
    sc.check(not login_fail, f"{len(login_fail)} logins failed: {[l[2][0].status for l in login_fail]}")
    first_new = min((t for t, kid, _ in logins if kid == new_kid), default=None)
    last_old = max((t for t, kid, _ in logins if kid == old_kid and t >= rotated_at), default=rotated_at)
    unknown = {kid for _, kid, _ in logins if kid and kid not in (old_kid, new_kid)}
    sc.check(not unknown, f"logins signed with unexpected kids {unknown}")
    if not sc.check(first_new is not None, f"no login got the new kid {new_kid} within {watch_s:.0f} s"):
        return
    sc.check(first_new - rotated_at <= SECRET_TTL_S + 2, f"new kid first issued {first_new - rotated_at:.1f} s after the "
                                                         f"rotation (SECRET_TTL_SECONDS={SECRET_TTL_S:.0f})")
    # Each warm auth instance (the stack runs up to PETTY_CONCURRENCY, as Lambda runs many)
    # caches the signing keys on its own, so one may still sign with the old key for a moment
    # after another switched; what holds is that every instance has switched once the cache's
    # TTL has passed since the rotation.
    settled = rotated_at + SECRET_TTL_S + 2
    late_old = [t - rotated_at for t, kid, _ in logins if kid == old_kid and t > settled]
    sc.check(not late_old, f"logins signed with the old key {len(late_old)} times more than "
                           f"SECRET_TTL_SECONDS + 2 s after the rotation (first at {min(late_old, default=0):.1f} s)")
    # New-kid tokens: refused only inside the documented window, and only with 401.
    new_calls = [a for t, kid, answers in logins if kid == new_kid for a in answers]
    refused = [a for a in new_calls if a.status != 200]
    not_401 = sorted({f"{a.route} {a.status or a.error}" for a in refused if a.status != 401})
    sc.check(not not_401, f"new-kid tokens failed other than 401: {not_401}")
    # The public keys are written before the signing keys, and a verifier that meets an unknown
    # kid refetches at once unless it already did within 10 s (only forced
    # refreshes count, shared/src/secrets.rs): here the first new-kid token forces that
    # refetch, so no new-kid token may be refused at all. (Before that rule, a TTL fetch made
    # just before the rotation blocked the refetch and tokens were refused for up to ~10 s.)
    if refused:
        first_r = min(a.started for a in refused) - rotated_at
        last_r = max(a.started + a.latency_s for a in refused) - rotated_at
        sc.check(False, f"new-kid tokens refused from {first_r:.1f} s to {last_r:.1f} s after the rotation")
        by_route = {}
        for a in refused:
            by_route[a.route] = by_route.get(a.route, 0) + 1
        window = (f"new-kid tokens refused (401) {len(refused)} of {len(new_calls)} calls, from {first_r:.1f} s to "
                  f"{last_r:.1f} s after the rotation ({', '.join(f'{k} {v}' for k, v in sorted(by_route.items()))})")
    else:
        window = f"no new-kid token refused ({len(new_calls)} calls)"
    jwks = api.call("GET", "/.well-known/jwks.json", "jwks")
    kids = {k.get("kid") for k in (jwks.body or {}).get("keys", [])} if isinstance(jwks.body, dict) else set()
    sc.check({old_kid, new_kid} <= kids, f"JWKS after rotation lists {kids}, expected both {old_kid} and {new_kid}")
    sc.note(f"rotation {old_kid} -> {new_kid}: pre-rotation token {len(old_results)} calls, "
            f"{len(old_results) - len(bad_old)} OK; last old-kid login {last_old - rotated_at:.1f} s, first new-kid "
            f"login {first_new - rotated_at:.1f} s after the rotation (SECRET_TTL_SECONDS={SECRET_TTL_S:.0f})")
    sc.note(window)


# --------------------------------------------------------------------------- throttling
def throttle(ctx: Ctx, sc: Scenario) -> None:
    api, px = ctx.api, ctx.proxy
    owner, collars = ctx.owner_with_collars("throttle", 5)
    collar = collars[0]
    injected = 0
    px.post("/pass")

    def inject(count: int, op: str | None = None) -> int:
        px.post(f"/throttle?count={count}" + (f"&op={op}" if op else ""))
        return px.state()["throttled"]

    def taken(before: int) -> int:
        return px.state()["throttled"] - before

    ts = iter(range(int(time.time()) - 3000, int(time.time()) - 60))

    def fresh(n: int) -> list[dict]:
        return collar.sim.batch([next(ts) for _ in range(n)])

    # Within the SDK's budget (3 attempts: 2 throttles then success).
    before = inject(2, "BatchWriteItem")
    batch = fresh(20)
    a = ingest(api, collar, batch)
    got = taken(before)
    injected += got
    sc.check(a.status == 200 and a.body.get("accepted") == 20, f"ingest with 2 throttles: {a.status} {a.body}")
    sc.check(got == 2, f"ingest with 2 throttles: the proxy throttled {got}")
    sc.note(f"BatchWriteItem throttled {got}x: ingest {a.status} in {a.latency_s * 1000:.0f} ms (SDK retried)")

    # Past the budget: 503 + Retry-After + request id; the resend succeeds.
    before = inject(3, "BatchWriteItem")
    batch = fresh(20)
    first = ingest(api, collar, batch)
    got = taken(before)
    injected += got
    error_shape(sc, first, "ingest past the retry budget")
    sc.check(first.status != 503 or first.body.get("not_stored") == list(range(20)),
             f"ingest past the retry budget names what it did not store: {first.body}")
    time.sleep(float(first.headers.get("retry-after", "1")))
    again = ingest(api, collar, batch)
    sc.check(again.status == 200 and again.body.get("accepted") == 20, f"resend after the 503: {again.status} {again.body}")
    sc.note(f"BatchWriteItem throttled {got}x: ingest {first.status} (Retry-After {first.headers.get('retry-after')}) "
            f"in {first.latency_s * 1000:.0f} ms, resend {again.status} accepted {again.body.get('accepted')}")

    # A 500-reading batch (20 chunks, 4 at a time) partly throttled past the budget.
    before = inject(12, "BatchWriteItem")
    big = fresh(500)
    first = ingest(api, collar, big)
    got = taken(before)
    injected += got
    px.post("/pass")
    not_stored = first.body.get("not_stored", []) if isinstance(first.body, dict) else []
    sc.check(first.status in (200, 503), f"500-reading batch under throttling: {first.status} {first.body}")
    sc.check((first.status == 503) == bool(not_stored), f"500-reading batch: status {first.status} "
                                                        f"with {len(not_stored)} not stored")
    if first.status == 503:
        error_shape(sc, first, "500-reading batch under throttling")
    sc.check(first.body.get("accepted", 0) + len(not_stored) == 500, f"500-reading batch: {first.body}")
    again = ingest_until_stored(api, collar, big)[-1]
    sc.check(again.body.get("accepted") == len(not_stored) and again.body.get("duplicates") == 500 - len(not_stored),
             f"resend of the 500-reading batch: {again.body} after {len(not_stored)} not stored")
    sc.note(f"500-reading batch, BatchWriteItem throttled {got}x: {first.status}, {first.body.get('accepted')} "
            f"accepted, {len(not_stored)} named not stored; resend: {again.body.get('accepted')} accepted, "
            f"{again.body.get('duplicates')} duplicates")

    # Reads and login.
    reads = {
        "GetItem": lambda: api.call("GET", f"/v1/realtime?collar_id={collar.collar_id}", "GET /v1/realtime",
                                    token=owner.token),
        "Query": lambda: api.call("GET", f"/v1/pet-timeline?collar_id={collar.collar_id}&from={iso(time.time() - 600)}"
                                         f"&to={iso(time.time())}", "GET /v1/pet-timeline", token=owner.token),
    }
    for op, call in reads.items():
        before = inject(2, op)
        a = call()
        got = taken(before)
        injected += got
        px.post("/pass")
        sc.check(a.status == 200 and got == 2, f"{a.route} with {op} throttled {got}x: {a.status} {str(a.body)[:200]}")
        before = inject(50, op)
        a = call()
        got = taken(before)
        injected += got
        px.post("/pass")
        error_shape(sc, a, f"{a.route} with every {op} throttled")
        b = call()
        sc.check(b.status == 200, f"{b.route} after the throttling: {b.status}")
        sc.note(f"{a.route}: {op} throttled 2x -> 200; every {op} throttled ({got}x) -> {a.status} "
                f"(Retry-After {a.headers.get('retry-after')}, {a.latency_s * 1000:.0f} ms); retry -> {b.status}")
    before = inject(2, "PutItem")
    a = login(api, owner)
    got = taken(before)
    injected += got
    px.post("/pass")
    sc.check(got == 2, f"login with PutItem throttled: the proxy throttled {got}")
    sc.note(f"login with PutItem throttled {got}x -> {a.status}")

    # Four collars ingesting concurrently while BatchWriteItem is throttled.
    group = collars[1:]
    before = inject(16, "BatchWriteItem")
    errors: list[str] = []
    statuses: list[int] = []

    def send(c):
        base = int(time.time()) - 2000
        try:
            for k in range(4):
                answers = ingest_until_stored(api, c, c.sim.batch(range(base + k * 30, base + k * 30 + 30)))
                statuses.extend(a.status for a in answers)
        except RuntimeError as e:
            errors.append(str(e))

    threads = [threading.Thread(target=send, args=(c,), daemon=True) for c in group]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    got = taken(before)
    injected += got
    px.post("/pass")
    sc.check(not errors, f"concurrent ingest under throttling: {errors}")
    sc.note(f"4 collars x 4 batches concurrently, BatchWriteItem throttled {got}x: {statuses.count(503)} answers "
            f"503 (every one resent until 200), {statuses.count(200)} answers 200")
    ctx.check_stored(sc, collars, ambiguous_ok=False)
    sc.check(injected > 0 and px.state()["throttled"] >= injected, f"throttles injected: {injected}")
    sc.note(f"{injected} throttles injected in total (proxy /state: {px.state()['throttled']})")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", default="outage,rotation,throttle", help="comma-separated scenarios")
    p.add_argument("--outage", type=float, default=12.0, help="seconds the endpoint stays down")
    p.add_argument("--rotation-watch", type=float, default=22.0, help="seconds watched after the rotation")
    args = p.parse_args()
    wanted = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(wanted) - {"outage", "rotation", "throttle"}
    if unknown:
        p.error(f"unknown scenarios {unknown}")
    ctx = Ctx()
    results = []
    started = time.monotonic()
    for name in wanted:
        sc = Scenario(name)
        t0 = time.monotonic()
        print(f"== {name}", flush=True)
        try:
            {"outage": lambda: outage(ctx, sc, args.outage),
             "rotation": lambda: rotation(ctx, sc, args.rotation_watch),
             "throttle": lambda: throttle(ctx, sc)}[name]()
        except Exception as e:  # a setup step or an assumption broke: the scenario fails
            sc.check(False, f"{type(e).__name__}: {e}")
        finally:
            try:
                ctx.proxy.post("/up")
                ctx.proxy.post("/pass")
            except OSError:
                pass
        results.append(sc)
        verdict = "OK" if not sc.failures else f"FAIL ({len(sc.failures)})"
        print(f"== {name}: {verdict} in {time.monotonic() - t0:.0f} s", flush=True)
        for f in sc.failures:
            print(f"  FAIL {f}", file=sys.stderr)
    failed = [s.name for s in results if s.failures]
    print(f"faults: {len(results) - len(failed)}/{len(results)} scenarios OK in {time.monotonic() - started:.0f} s"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
