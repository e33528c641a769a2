"""Shared pieces of the tools that drive the local stack: an HTTP client that records every
answer, the operator step every claim needs (`Operator`: an account granted `admin` with
`tools/local_aws.py grant-scope`, collars registered through `POST /v1/admin/collars`, their
claim codes), owners and collars set up through the API, realistic collar readings, and the
stored-count check read straight from moto.

Used by tools/load.py, tools/faults.py and tools/stream_check.py (through PETTY_API_URL /
PETTY_MOTO_URL / PETTY_FAULT_URL / PETTY_STACK_STAGE, which tools/with_stack.sh exports), and
for the operator step alone by tools/demo.py, tools/st_seed.py and tools/bench.py (each with
its own way of calling the API: `Operator` takes a `call` function).

Loopback only: the operator's scope is granted in moto (an --endpoint is required), never in
AWS. Standard library at import time (tools/st_seed.py runs it with .venv-st's python); boto3
(for moto) is imported where it is used, and grant-scope runs with the repo venv's python.
"""
from __future__ import annotations

import base64
import json
import math
import os
import random
import secrets
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery staple"
OPERATOR_PASSWORD = "operator password for the local stack"


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


def _jwt_part(token: str, i: int) -> dict:
    part = token.split(".")[i]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def token_kid(token: str) -> str:
    return _jwt_part(token, 0)["kid"]


def token_scopes(token: str) -> list[str]:
    """The scopes an access token carries (read, not verified: the API verifies)."""
    return list(_jwt_part(token, 1).get("scopes", []))


# --------------------------------------------------------------------------- operators
# call(method, path, body, token) -> (status, parsed body): how a tool reaches the API.
Call = Callable[[str, str, object, "str | None"], "tuple[int, object]"]


def grant_scope(email: str, endpoint: str, stage: str, scope: str = "admin") -> dict:
    """`tools/local_aws.py grant-scope` against the local moto (audited; in tokens issued after)."""
    if not endpoint:
        raise SystemExit("grant_scope: no moto endpoint; the tools never grant scopes in AWS")
    venv_python = ROOT / ".venv" / "bin" / "python"
    python = str(venv_python) if venv_python.exists() else sys.executable
    out = subprocess.run([python, str(ROOT / "tools" / "local_aws.py"), "grant-scope", "--endpoint", endpoint,
                          "--stage", stage, "--email", email, "--scope", scope],
                         capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"grant-scope {scope} to {email}: {out.stderr.strip()[-500:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


class Operator:
    """An operator of the local stack, as a person becomes one: an account registered through
    the API, the `admin` scope granted with `tools/local_aws.py grant-scope` (in moto), a login
    after that (the scope is in tokens issued after the grant); then collars registered through
    `POST /v1/admin/collars`, each new serial's claim code returned. A serial already registered
    (another run's) gets a new code through `POST /v1/admin/collars/{id}/claim-code`.

        codes = Operator(call, endpoint=moto_url, stage=stage).register(["AB-123456"])
        # then the owner: POST /v1/collars {"collar_id", "claim_code": codes["AB-123456"], "pet"}
    """

    TOKEN_REUSE_S = 600  # access tokens live 15 minutes

    def __init__(self, call: Call, *, endpoint: str, stage: str, email: str | None = None,
                 password: str = OPERATOR_PASSWORD):
        self.call, self.endpoint, self.stage = call, endpoint, stage
        self.email = email or f"ops-{secrets.token_hex(4)}@petty.local"
        self.password = password
        self._token, self._token_at = "", 0.0

    @classmethod
    def for_stack(cls, api: "Api", email: str | None = None) -> "Operator":
        """On tools/with_stack.sh's stack (PETTY_MOTO_URL, PETTY_STACK_STAGE), through `api`."""
        def call(method, path, body=None, token=None):
            a = api.call(method, path, "operator setup", body=body, token=token)
            if a.status == 0:
                raise RuntimeError(f"{method} {path}: {a.error}")
            return a.status, a.body
        return cls(call, endpoint=env("PETTY_MOTO_URL"), stage=env("PETTY_STACK_STAGE"), email=email)

    def _expect(self, what: str, got, *statuses: int):
        status, body = got
        if status not in statuses:
            raise RuntimeError(f"operator {self.email}: {what}: HTTP {status}, expected {statuses}: {str(body)[:300]}")
        return body

    def _login(self) -> str:
        body = self._expect("login", self.call("POST", "/v1/auth/login",
                                                {"email": self.email, "password": self.password}, None), 200)
        return body["access_token"]

    def token(self) -> str:
        """An access token with the `admin` scope (the account made and granted on first use)."""
        if self._token and time.monotonic() - self._token_at < self.TOKEN_REUSE_S:
            return self._token
        if not self._token:
            self._expect("register", self.call("POST", "/v1/auth/register", {
                "email": self.email, "password": self.password, "name": "Operator"}, None), 201, 409)
        token = self._login()
        if "admin" not in token_scopes(token):
            grant_scope(self.email, self.endpoint, self.stage)
            token = self._login()  # the scope is in tokens issued after the grant
            if "admin" not in token_scopes(token):
                raise RuntimeError(f"operator {self.email}: no admin scope after grant-scope: {token_scopes(token)}")
        self._token, self._token_at = token, time.monotonic()
        return token

    def register(self, collar_ids, iot: bool = False) -> dict[str, str]:
        """Registers `collar_ids` (500 per request): {collar_id: claim code}."""
        ids = list(collar_ids)
        codes: dict[str, str] = {}
        for i in range(0, len(ids), 500):
            body = self._expect("POST /v1/admin/collars", self.call("POST", "/v1/admin/collars", {
                "collars": [{"collar_id": c, "iot": iot} for c in ids[i:i + 500]]}, self.token()), 200)
            for row in body["collars"]:
                if row.get("claim_code"):
                    codes[row["collar_id"]] = row["claim_code"]
                else:  # `exists`: its code was shown once, to whoever registered it
                    codes[row["collar_id"]] = self.reset_code(row["collar_id"])
        return codes

    def reset_code(self, collar_id: str) -> str:
        body = self._expect(f"new claim code for {collar_id}", self.call(
            "POST", f"/v1/admin/collars/{collar_id}/claim-code", None, self.token()), 200)
        return body["claim_code"]


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


# Per account: claim attempts per 15 minutes, claims per hour (functions/data-processor).
CLAIMS_PER_OWNER = 10


def claim(api: Api, owner: Owner, collar_id: str, claim_code: str, rng: random.Random) -> Collar:
    """Claims the registered `collar_id` for `owner` with its code (`Operator.register`) and
    creates the collar's own API key. As its first owner, the owner sees every reading the
    collar buffered before the claim too."""
    api.ok("POST", "/v1/collars", "POST /v1/collars", want=(200, 201), token=owner.token, body={
        "collar_id": collar_id, "claim_code": claim_code,
        "pet": {"name": f"Pet {collar_id}", "species": rng.choice(["dog", "cat"]), "weight_kg": rng.randint(3, 35)},
    })
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
