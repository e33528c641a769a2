"""Shared pieces of tools/load.py and tools/faults.py: an HTTP client that records every
answer, owners and collars set up through the API (claims backdated in moto, as
tools/cli_journey.sh does, so recent past readings count), realistic collar readings, and the
stored-count check read straight from moto.

Loopback only: everything talks to PETTY_API_URL / PETTY_MOTO_URL / PETTY_FAULT_URL, which
tools/with_stack.sh exports. Standard library plus boto3 (for moto).
"""
from __future__ import annotations

import base64
import json
import math
import os
import random
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone

PASSWORD = "correct horse battery staple"
CLAIM_BACKDATE_S = 3600


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SystemExit(f"{name} is not set: run me through tools/with_stack.sh")
    return value


def stack_env() -> dict[str, str]:
    """The functions' environment (table names...) that tools/stack.sh wrote."""
    out = {}
    with open(env("PETTY_STACK_ENV")) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                out[k] = v
    return out


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def token_kid(token: str) -> str:
    head = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))["kid"]


# --------------------------------------------------------------------------- HTTP
@dataclass
class Answer:
    route: str
    status: int  # 0: no HTTP answer (connection error or client timeout)
    body: object
    headers: dict
    latency_s: float
    started: float
    error: str = ""

    @property
    def request_id(self) -> str:
        if isinstance(self.body, dict) and self.body.get("request_id"):
            return str(self.body["request_id"])
        return ""


class Api:
    """A tiny JSON client; every answer is recorded (thread-safe) for the statistics."""

    def __init__(self, base: str, timeout: float = 30.0):
        self.base = base.rstrip("/")
        self.timeout = timeout
        self.lock = threading.Lock()
        self.answers: list[Answer] = []
        self.recording = True

    def call(self, method: str, path: str, route: str, body=None, token=None, api_key=None,
             timeout: float | None = None) -> Answer:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("content-type", "application/json")
        if token:
            req.add_header("authorization", f"Bearer {token}")
        if api_key:
            req.add_header("x-api-key", api_key)
        started = time.time()
        t0 = time.monotonic()
        status, raw, headers, error = 0, b"", {}, ""
        try:
            with urllib.request.urlopen(req, timeout=timeout or self.timeout) as resp:
                status, raw, headers = resp.status, resp.read(), dict(resp.headers)
        except urllib.error.HTTPError as e:
            status, raw, headers = e.code, e.read(), dict(e.headers)
        except OSError as e:  # refused, reset, client timeout
            error = f"{type(e).__name__}: {e}"
        latency = time.monotonic() - t0
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        answer = Answer(route, status, parsed, {k.lower(): v for k, v in headers.items()}, latency, started, error)
        if self.recording:
            with self.lock:
                self.answers.append(answer)
        return answer

    def ok(self, method: str, path: str, route: str, want=(200, 201), **kw) -> Answer:
        a = self.call(method, path, route, **kw)
        if a.status not in want:
            raise RuntimeError(f"{method} {path}: {a.status} {a.error} {a.body}")
        return a


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(p / 100 * len(s)) - 1))
    return s[k]


# --------------------------------------------------------------------------- accounts
@dataclass
class Collar:
    collar_id: str
    owner: "Owner"
    api_key: str = ""
    sim: "CollarSim | None" = None
    # Bookkeeping for the stored-count check.
    sent: set = field(default_factory=set)       # distinct reading timestamps ever sent
    accepted: int = 0                            # sum of `accepted` the API reported
    duplicates: int = 0                          # sum of `duplicates` the API reported
    # When the API first answered that a reading was stored (epoch s): before it, a realtime
    # 404 ("no reading yet") is the right answer, since requests now run concurrently.
    first_stored_at: float | None = None
    resent: int = 0                              # readings deliberately sent again
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, batch: list[dict], answer: Answer, resend: bool = False) -> None:
        with self.lock:
            for r in batch:
                self.sent.add(r["timestamp"])
            if isinstance(answer.body, dict) and answer.status in (200, 503) and "accepted" in answer.body:
                self.accepted += int(answer.body["accepted"])
                self.duplicates += int(answer.body["duplicates"])
            if resend:
                self.resent += len(batch)


@dataclass
class Owner:
    email: str
    token: str = ""
    collars: list = field(default_factory=list)


def run_id() -> str:
    return secrets.token_hex(3)


def make_owner(api: Api, email: str) -> Owner:
    api.ok("POST", "/v1/auth/register", "POST /v1/auth/register", want=(201,),
           body={"email": email, "password": PASSWORD, "name": email.split("@")[0]})
    owner = Owner(email)
    login(api, owner)
    return owner


def login(api: Api, owner: Owner) -> Answer:
    a = api.ok("POST", "/v1/auth/login", "POST /v1/auth/login", want=(200,),
               body={"email": owner.email, "password": PASSWORD})
    owner.token = a.body["access_token"]
    return a


def claim(api: Api, owner: Owner, collar_id: str, ddb, collars_table: str, rng: random.Random) -> Collar:
    """Claims `collar_id` for `owner`, moves the claim CLAIM_BACKDATE_S back in moto (so the
    last hour's readings are the owner's) and creates the collar's own API key."""
    api.ok("POST", "/v1/collars", "POST /v1/collars", want=(200, 201), token=owner.token, body={
        "collar_id": collar_id,
        "pet": {"name": f"Pet {collar_id}", "species": rng.choice(["dog", "cat"]), "weight_kg": rng.randint(3, 35)},
    })
    ddb.update_item(TableName=collars_table, Key={"collar_id": {"S": collar_id}},
                    UpdateExpression="SET created_at = :t",
                    ExpressionAttributeValues={":t": {"N": str(int(time.time()) - CLAIM_BACKDATE_S)}})
    key = api.ok("POST", "/v1/api-keys", "POST /v1/api-keys", want=(201,), token=owner.token, body={
        "name": f"collar {collar_id}", "scopes": ["readings:write", "readings:read", "timeline:read"],
        "collar_ids": [collar_id], "expires_in_days": 1,
    })
    collar = Collar(collar_id, owner, api_key=key.body["api_key"], sim=CollarSim(collar_id, rng.random()))
    owner.collars.append(collar)
    return collar


def moto_dynamodb():
    import boto3  # from .venv
    return boto3.client("dynamodb", endpoint_url=env("PETTY_MOTO_URL"), region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def stored_count(ddb, table: str, collar_id: str) -> int:
    """Reading items of a collar in moto, bypassing the functions (ts = 0 is the latest-reading
    item, not a reading)."""
    count, start = 0, None
    while True:
        kw = {"TableName": table, "KeyConditionExpression": "collar_id = :c AND ts > :z", "Select": "COUNT",
              "ExpressionAttributeValues": {":c": {"S": collar_id}, ":z": {"N": "0"}}, "ConsistentRead": True}
        if start:
            kw["ExclusiveStartKey"] = start
        out = ddb.query(**kw)
        count += out["Count"]
        start = out.get("LastEvaluatedKey")
        if not start:
            return count


def check_collar(ddb, table: str, c: Collar, ambiguous_ok: bool = False) -> tuple[int, list[str]]:
    """Nothing lost, nothing doubled: every distinct reading sent is stored exactly once and the
    API counted each as accepted exactly once. With `ambiguous_ok` (faults that can cut a write's
    answer off after DynamoDB applied it), a stored reading may have been reported not stored and
    then, on the resend, a duplicate: accepted may fall short of stored, never exceed it."""
    stored = stored_count(ddb, table, c.collar_id)
    problems = []
    if stored != len(c.sent):
        problems.append(f"{c.collar_id}: {stored} stored, {len(c.sent)} distinct readings sent")
    if c.accepted > stored or (c.accepted != stored and not ambiguous_ok):
        problems.append(f"{c.collar_id}: API reported {c.accepted} accepted, {stored} stored")
    return stored, problems


# --------------------------------------------------------------------------- readings
class CollarSim:
    """A pet wearing a collar: an activity state that persists for minutes (rest, walk, play),
    heart rate that follows it with noise, a slow random walk around home, body temperature
    and a battery that drains."""

    BPM = {0: (75, 8), 1: (105, 10), 2: (140, 14)}
    STAY = {0: 0.985, 1: 0.97, 2: 0.95}  # per-second chance of keeping the state

    def __init__(self, collar_id: str, seed: float):
        self.rng = random.Random(f"{collar_id}-{seed}")
        self.activity = self.rng.choice([0, 0, 1, 2])
        self.lon = -74.0060 + self.rng.uniform(-0.05, 0.05)
        self.lat = 40.7128 + self.rng.uniform(-0.05, 0.05)
        self.battery = self.rng.uniform(40, 100)
        self.collar_id = collar_id

    def reading(self, ts: int) -> dict:
        if self.rng.random() > self.STAY[self.activity]:
            self.activity = self.rng.choice([a for a in (0, 1, 2) if a != self.activity])
        mean, sd = self.BPM[self.activity]
        step = (0.00001, 0.00008, 0.00015)[self.activity]
        self.lon += self.rng.gauss(0, step)
        self.lat += self.rng.gauss(0, step)
        self.battery = max(1.0, self.battery - 0.002)
        return {
            "collar_id": self.collar_id,
            "timestamp": iso(ts),
            "heart_rate": int(min(299, max(31, self.rng.gauss(mean, sd)))),
            "activity_level": self.activity,
            "location": {"type": "Point", "coordinates": [round(self.lon, 6), round(self.lat, 6)]},
            "temperature_c": round(self.rng.gauss(38.5 + 0.3 * self.activity, 0.15), 2),
            "battery_pct": int(self.battery),
            "accuracy_m": round(self.rng.uniform(2, 15), 1),
        }

    def batch(self, timestamps) -> list[dict]:
        return [self.reading(int(ts)) for ts in timestamps]


def ingest(api: Api, collar: Collar, batch: list[dict], resend: bool = False, route: str = "POST /v1/ingest",
           timeout: float | None = None) -> Answer:
    a = api.call("POST", "/v1/ingest", route, body={"readings": batch}, api_key=collar.api_key, timeout=timeout)
    collar.record(batch, a, resend)
    if collar.first_stored_at is None and a.status == 200 and isinstance(a.body, dict) and a.body.get("accepted"):
        collar.first_stored_at = time.time()
    return a


def ingest_until_stored(api: Api, collar: Collar, batch: list[dict], tries: int = 10) -> list[Answer]:
    """Sends `batch`, and while the API answers 503 (or nothing), sends the whole batch again
    after Retry-After: safe, since stored readings come back as duplicates."""
    answers = []
    for i in range(tries):
        a = ingest(api, collar, batch)
        answers.append(a)
        if a.status == 200:
            return answers
        if a.status not in (0, 503):
            raise RuntimeError(f"ingest {collar.collar_id}: {a.status} {a.body}")
        time.sleep(min(5.0, float(a.headers.get("retry-after", "1"))))
    raise RuntimeError(f"ingest {collar.collar_id}: not stored after {tries} tries: {answers[-1].status} {answers[-1].body}")


# --------------------------------------------------------------------------- faults
class Proxy:
    """tools/fault_proxy.py's control API."""

    def __init__(self, base: str):
        self.base = base.rstrip("/")

    def _call(self, method: str, path: str) -> dict:
        req = urllib.request.Request(self.base + path, method=method, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def state(self) -> dict:
        return self._call("GET", "/state")

    def post(self, path: str) -> dict:
        return self._call("POST", path)
