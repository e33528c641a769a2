#!/usr/bin/env python3
"""Petty's benchmark harness (`make bench`): numbers, never pass/fail.

    bench.py run --env-file target/bench.env [--runs 20] [--warm 2000] [--warm-moto 1000] [--skip-examples]
    bench.py compare A.json B.json

`run` plays the Lambda Runtime API on loopback and, for each function's release binary and a
bare `lambda_http` hello-world built with the same profile (the floor, tools/bench-floor),
measures:

  init       process start -> its first `GET /runtime/invocation/next` (p50 and max of --runs)
  first      process start -> the response to its first event (same runs)
  warm       p50/p99 in one process, from handing out an event to its response: --warm events that
             answer without a storage call (liveness, JWKS; behind a token, the RS256 verification
             and a 400 for a missing collar_id) and --warm-moto events that read the seeded stack
  RSS        the process's max resident set (VmHWM) after the warm events
  sizes      stripped host binary (target/release/<bin>) and arm64 bootstrap (target/lambda/,
             target/bench/lambda/ for the floor, else tools/arm64-build.stamp, else n/a)

and each function's ratio to the floor. Events are real requests against the seeded moto
stack of --env-file: a user registered and logged in through petty-auth, a collar registered by
an operator (granted `admin` in moto; petty-admin) and claimed with its code and a reading
ingested through petty-data-processor; every response's status is checked and the
mismatches are counted in the table. Then it runs the in-process examples (auth_bench,
validate_bench, ingest_bench, timeline_bench) and folds their figures in.

It prints one markdown table and writes the whole run as JSON to
target/bench/bench-<git sha>-<UTC timestamp>.json and target/bench/latest.json.
`compare` prints the numeric differences between two such files.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import queue
import re
import statistics
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "target" / "bench"
FLOOR = "petty-bench-floor"
FUNCTIONS = ["petty-health", "petty-auth", "petty-data-processor", "petty-timeline", "petty-feedback"]
PASSWORD = "correct horse battery staple"


# --------------------------------------------------------------------------- Runtime API
class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a killed process resets its connection: expected, not worth a traceback


class Runtime:
    """One Lambda Runtime API endpoint on loopback serving one process: events are queued with
    `submit`, handed out on `GET .../invocation/next`, and answered on `POST .../response`."""

    def __init__(self):
        self.inbox: queue.Queue = queue.Queue()
        self.cv = threading.Condition()
        self.handed_out: dict[str, int] = {}
        self.results: dict[str, dict] = {}
        self.first_next_ns: int | None = None
        self.first_response_ns: int | None = None
        self.init_error: str | None = None
        self.closed = False
        self.server = QuietServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.address = f"127.0.0.1:{self.server.server_address[1]}"

    def _handler(rt):  # noqa: N805 - `rt` is the Runtime, `self` the request handler
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else delayed ACKs add ~40 ms per event

            def log_message(self, *args):
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    out = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return out
                        out += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length", 0)))

            def do_GET(self):
                if not self.path.endswith("/runtime/invocation/next"):
                    self.send_error(404)
                    return
                now = time.perf_counter_ns()
                with rt.cv:
                    if rt.first_next_ns is None:
                        rt.first_next_ns = now
                        rt.cv.notify_all()
                while True:
                    try:
                        rid, event = rt.inbox.get(timeout=0.2)
                        break
                    except queue.Empty:
                        if rt.closed:
                            self.close_connection = True
                            return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Lambda-Runtime-Aws-Request-Id", rid)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30_000))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bench")
                self.send_header("Lambda-Runtime-Trace-Id", "Root=1-6740d5a0-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=0")
                self.send_header("Content-Length", str(len(event)))
                self.end_headers()
                rt.handed_out[rid] = time.perf_counter_ns()
                self.wfile.write(event)

            def do_POST(self):
                now = time.perf_counter_ns()
                body = self._body()
                parts = self.path.rstrip("/").split("/")
                if parts[-2:] == ["init", "error"]:
                    with rt.cv:
                        rt.init_error = body.decode(errors="replace")
                        rt.cv.notify_all()
                else:
                    rid, kind = parts[-2], parts[-1]
                    status, payload = -1, None
                    if kind == "response":
                        try:
                            payload = json.loads(body)
                            status = int(payload.get("statusCode", 0))
                        except (ValueError, AttributeError):
                            status = 0
                    else:
                        payload = body.decode(errors="replace")
                    with rt.cv:
                        if rt.first_response_ns is None:
                            rt.first_response_ns = now
                        start = rt.handed_out.pop(rid, now)
                        rt.results[rid] = {"status": status, "payload": payload, "latency_ns": now - start}
                        rt.cv.notify_all()
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler

    def submit(self, event: bytes) -> str:
        rid = str(uuid.uuid4())
        self.inbox.put((rid, event))
        return rid

    def wait(self, rid: str, proc: subprocess.Popen, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        with self.cv:
            while rid not in self.results:
                if self.init_error is not None:
                    raise RuntimeError(f"init error: {self.init_error[:500]}")
                if proc.poll() is not None:
                    raise RuntimeError(f"the process exited with {proc.returncode}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError(f"no response within {timeout} s")
                self.cv.wait(min(left, 0.5))
            return self.results.pop(rid)

    def close(self):
        self.closed = True
        self.server.shutdown()
        self.server.server_close()


class Process:
    """A function binary running against its own Runtime."""

    def __init__(self, binary: Path, env: dict, log: Path):
        self.rt = Runtime()
        self.log = open(log, "ab")
        self.start_ns = time.perf_counter_ns()
        self.proc = subprocess.Popen([str(binary)], env={"AWS_LAMBDA_FUNCTION_NAME": binary.name, **env, "AWS_LAMBDA_RUNTIME_API": self.rt.address},
                                     stdout=self.log, stderr=self.log)

    def invoke(self, event: bytes) -> dict:
        return self.rt.wait(self.rt.submit(event), self.proc)

    def max_rss_kb(self) -> int:
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.rt.close()
        self.log.close()


# --------------------------------------------------------------------------- events
def v2_event(method: str, target: str, headers: dict | None = None, body: str | None = None) -> bytes:
    """An API Gateway HTTP API (payload 2.0) event, as API Gateway sends it."""
    path, _, query = target.partition("?")
    all_headers = {
        "accept": "application/json",
        "host": "abc123.execute-api.eu-west-1.amazonaws.com",
        "user-agent": "Petty-iOS/3.2 (iPhone; iOS 18.1)",
        "x-amzn-trace-id": "Root=1-6740d5a0-0123456789abcdef01234567",
        "x-forwarded-for": "203.0.113.10",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
        **({"content-type": "application/json"} if body is not None else {}),
        **(headers or {}),
    }
    now = dt.datetime.now(dt.timezone.utc)
    event = {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": all_headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc123",
            "domainName": "abc123.execute-api.eu-west-1.amazonaws.com", "domainPrefix": "abc123",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.10",
                     "userAgent": all_headers["user-agent"]},
            "requestId": "bench", "routeKey": f"{method} {path}", "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"), "timeEpoch": int(now.timestamp() * 1000),
        },
        "body": body,
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = dict(kv.split("=", 1) for kv in query.split("&") if "=" in kv)
    return json.dumps(event).encode()


def body_json(result: dict):
    payload = result["payload"] or {}
    body = payload.get("body") or ""
    if payload.get("isBase64Encoded"):
        import base64
        import gzip
        raw = base64.b64decode(body)
        body = gzip.decompress(raw).decode() if raw[:2] == b"\x1f\x8b" else raw.decode()
    return json.loads(body) if body else None


def expect(result: dict, statuses: tuple, what: str):
    if result["status"] not in statuses:
        raise SystemExit(f"bench setup: {what} answered {result['status']} (expected {statuses}): "
                         f"{str(result['payload'])[:400]}")
    return body_json(result)


def setup_binary(name: str) -> Path:
    """A function binary for the fixtures only (never measured): the release build if there is
    one, else the debug build, else a debug build made now."""
    for path in (release(name), ROOT / "target" / "debug" / name):
        if path.exists():
            return path
    subprocess.run(["cargo", "build", "--quiet", "--bin", name], cwd=ROOT, check=True)
    return ROOT / "target" / "debug" / name


class Fixtures:
    """A user, its access token, a collar registered by an operator and claimed with its code,
    and one reading, made through the functions."""

    def __init__(self, env: dict, logs: Path):
        self.env, self.logs = env, logs
        self.email = f"bench-{uuid.uuid4().hex[:12]}@example.com"
        self.collar = f"BZ-{uuid.uuid4().int % 1_000_000:06d}"
        self.token_at = 0.0
        self._token = ""
        p = Process(release("petty-auth"), env, logs / "setup-auth.log")
        try:
            creds = json.dumps({"email": self.email, "password": PASSWORD, "name": "Bench"})
            expect(p.invoke(v2_event("POST", "/v1/auth/register", body=creds)), (201,), "register")
        finally:
            p.stop()
        code = self.register_collar()
        bearer = {"authorization": f"Bearer {self.token()}"}
        p = Process(release("petty-data-processor"), env, logs / "setup-data-processor.log")
        try:
            claim = json.dumps({"collar_id": self.collar, "claim_code": code,
                                "pet": {"name": "Bench", "species": "dog", "weight_kg": 20}})
            expect(p.invoke(v2_event("POST", "/v1/collars", bearer, claim)), (200, 201), "claim collar")
            ts = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            reading = json.dumps({"collar_id": self.collar, "timestamp": ts, "heart_rate": 85, "activity_level": 1,
                                  "location": {"type": "Point", "coordinates": [-74.006, 40.7128]}})
            expect(p.invoke(v2_event("POST", "/v1/ingest", bearer, reading)), (200, 201), "ingest a reading")
        finally:
            p.stop()

    def register_collar(self) -> str:
        """The collar registered as an operator does it (tools/loadlib.py's Operator: an account
        granted `admin` in the bench's moto, POST /v1/admin/collars): its claim code."""
        from loadlib import Operator

        def call(method: str, path: str, body=None, token=None):
            name = "petty-admin" if path.startswith("/v1/admin/") else "petty-auth"
            headers = {"authorization": f"Bearer {token}"} if token else None
            p = Process(setup_binary(name), self.env, self.logs / f"setup-{name.removeprefix('petty-')}.log")
            try:
                result = p.invoke(v2_event(method, path, headers, json.dumps(body) if body is not None else None))
            finally:
                p.stop()
            return result["status"], body_json(result)

        operator = Operator(call, endpoint=self.env["AWS_ENDPOINT_URL"], stage=self.env["STAGE"])
        return operator.register([self.collar])[self.collar]

    def token(self) -> str:
        """An access token at least 5 of its 15 minutes from expiry (logs in again if needed)."""
        if time.monotonic() - self.token_at > 600:
            p = Process(release("petty-auth"), self.env, self.logs / "setup-auth.log")
            try:
                creds = json.dumps({"email": self.email, "password": PASSWORD})
                self._token = expect(p.invoke(v2_event("POST", "/v1/auth/login", body=creds)), (200,), "login")["access_token"]
                self.token_at = time.monotonic()
            finally:
                p.stop()
        return self._token


LOCAL, MOTO = "local", "moto"


def scenarios(fx: Fixtures | None) -> dict[str, list[dict]]:
    """Per binary, its warm events: `local` ones answer without a storage call (for the
    functions behind a token: the RS256 token is verified, then a missing `collar_id` is a 400),
    `moto` ones read the seeded stack. The first event is also the cold-start event."""
    def ev(kind, label, event, status):
        return {"kind": kind, "label": label, "event": event, "status": status}

    liveness = (ROOT / "events/health/liveness.json").read_bytes()
    out = {FLOOR: [ev(LOCAL, "GET /v1/health (hello)", liveness, 200)]}
    if fx is None:
        out["petty-health"] = [ev(LOCAL, "GET /v1/health", liveness, 200)]
        return out
    bearer = {"authorization": f"Bearer {fx.token()}", "accept-encoding": "gzip"}
    c = fx.collar
    out["petty-health"] = [ev(LOCAL, "GET /v1/health", liveness, 200),
                           ev(MOTO, "GET /v1/health/ready", (ROOT / "events/health/ready.json").read_bytes(), 200)]
    out["petty-auth"] = [ev(MOTO, "GET /v1/auth/me", v2_event("GET", "/v1/auth/me", bearer), 200),
                         ev(LOCAL, "GET /.well-known/jwks.json", (ROOT / "events/auth/jwks.json").read_bytes(), 200)]
    for name, path in (("petty-data-processor", "/v1/realtime"), ("petty-timeline", "/v1/pet-plan"),
                       ("petty-feedback", "/v1/feedback/summary")):
        out[name] = [ev(MOTO, f"GET {path}", v2_event("GET", f"{path}?collar_id={c}", bearer), 200),
                     ev(LOCAL, f"GET {path} without collar_id (400)", v2_event("GET", path, bearer), 400)]
    return out


# --------------------------------------------------------------------------- measuring
def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def release(name: str) -> Path:
    return ROOT / "target" / "release" / name


def arm64_size(name: str) -> tuple[int | None, str]:
    for path in (ROOT / "target/lambda" / name / "bootstrap", OUT / "lambda" / name / "bootstrap"):
        if path.exists():
            return path.stat().st_size, str(path.relative_to(ROOT))
    stamp = ROOT / "tools/arm64-build.stamp"
    if stamp.exists():
        for line in stamp.read_text().splitlines():
            f = line.split()
            if len(f) == 3 and f[0] == "size" and f[1] == name:
                return int(f[2]), "tools/arm64-build.stamp"
    return None, "n/a"


def cold_starts(names: list[str], plan: dict, env: dict, runs: int, logs: Path) -> dict:
    """`runs` rounds of one cold start per binary, interleaved so that a busy moment of the
    machine lands on every binary alike rather than on one binary's whole series."""
    samples = {n: {"init": [], "first": [], "bad": 0} for n in names}
    for _ in range(runs):
        for name in names:
            cold = plan[name][0]
            p = Process(release(name), env, logs / f"{name}.log")
            try:
                r = p.invoke(cold["event"])
                samples[name]["init"].append((p.rt.first_next_ns - p.start_ns) / 1e6)
                samples[name]["first"].append((p.rt.first_response_ns - p.start_ns) / 1e6)
                samples[name]["bad"] += r["status"] != cold["status"]
            finally:
                p.stop()
    out = {}
    for name, x in samples.items():
        size, source = arm64_size(name)
        out[name] = {
            "binary": str(release(name).relative_to(ROOT)),
            "cold_runs": runs,
            "cold_event": plan[name][0]["label"],
            "init_ms_p50": round(statistics.median(x["init"]), 2),
            "init_ms_max": round(max(x["init"]), 2),
            "first_response_ms_p50": round(statistics.median(x["first"]), 2),
            "first_response_ms_max": round(max(x["first"]), 2),
            "cold_unexpected_status": x["bad"],
            "host_size_bytes": release(name).stat().st_size,
            "arm64_size_bytes": size,
            "arm64_size_source": source,
        }
    return out


def warm_runs(name: str, events: list[dict], env: dict, warm: dict, logs: Path) -> dict:
    """One process: each event once (its connections and caches), then `warm[kind]` timed
    invocations of it; the process's max RSS at the end."""
    out: dict = {"warm": {}}
    p = Process(release(name), env, logs / f"{name}.log")
    try:
        for e in events:
            p.invoke(e["event"])
            lat, statuses = [], {}
            for _ in range(warm[e["kind"]]):
                r = p.invoke(e["event"])
                lat.append(r["latency_ns"] / 1e6)
                statuses[r["status"]] = statuses.get(r["status"], 0) + 1
            out["warm"][e["kind"]] = {
                "event": e["label"],
                "expected_status": e["status"],
                "invocations": len(lat),
                "p50_ms": round(pct(lat, 50), 3),
                "p99_ms": round(pct(lat, 99), 3),
                "mean_ms": round(statistics.fmean(lat), 3),
                "statuses": {str(k): v for k, v in sorted(statuses.items())},
                "unexpected_status": len(lat) - statuses.get(e["status"], 0),
            }
        out["max_rss_kb"] = p.max_rss_kb()
    finally:
        p.stop()
    return out


def ratios(binaries: dict) -> None:
    floor = binaries.get(FLOOR)
    if not floor:
        return
    for name, b in binaries.items():
        if name == FLOOR:
            continue

        def ratio(key, b=b):
            x, y = b.get(key), floor.get(key)
            return round(x / y, 2) if x and y else None

        b["vs_floor"] = {
            "init_ms_p50": ratio("init_ms_p50"),
            "first_response_ms_p50": ratio("first_response_ms_p50"),
            # Against the floor's hello-world: only the event without a storage call compares.
            "warm_local_p50_ms": round(b["warm"][LOCAL]["p50_ms"] / floor["warm"][LOCAL]["p50_ms"], 2),
            "max_rss_kb": ratio("max_rss_kb"),
            "host_size_bytes": ratio("host_size_bytes"),
            "arm64_size_bytes": ratio("arm64_size_bytes"),
        }


# --------------------------------------------------------------------------- in-process examples
NUM = r"([\d.,]+)"
PATTERNS = [
    # (example, key, binary column, label, unit, regex, group)
    ("auth_bench", "argon2_hash_ms_p50", "petty-auth", "argon2id hash (m 19 MiB, t 2, p 1), p50", "ms",
     r"argon2id hash.*?p50 " + NUM + " ms", 1),
    ("auth_bench", "rs256_signed_per_s", "petty-auth", "RS256 tokens signed, one core", "/s",
     r"tokens issued: " + NUM + "/s", 1),
    ("auth_bench", "rs256_verified_per_s", "petty-auth", "RS256 tokens verified, one core", "/s",
     r"tokens verified: " + NUM + "/s", 1),
    ("auth_bench", "login_ms_p50", "petty-auth", "login vs moto, p50 / p99", "ms",
     r"login against moto.*?p50 " + NUM + " ms", 1),
    ("auth_bench", "login_ms_p99", "petty-auth", None, "ms", r"login against moto.*?p99 " + NUM + " ms", 1),
    ("validate_bench", "readings_validated_per_s", "petty-data-processor", "readings parsed + validated, one core", "/s",
     r"validated: " + NUM + "/s", 1),
    ("ingest_bench", "ingest_readings_per_s", "petty-data-processor", "ingest 500-reading batches vs moto", "readings/s",
     r"against moto: " + NUM + " readings/s", 1),
    ("ingest_bench", "ingest_request_ms_p50", "petty-data-processor", "ingest request vs moto, p50 / p99", "ms",
     r"per request p50 " + NUM + " ms", 1),
    ("ingest_bench", "ingest_request_ms_p99", "petty-data-processor", None, "ms", r"per request p50 .*?p99 " + NUM + " ms", 1),
    ("timeline_bench", "timeline_build_ms_p50", "petty-timeline", "timeline build, 60,480 points, one core, p50", "ms",
     r"\(60480 points.*?build p50 " + NUM + " ms", 1),
    ("timeline_bench", "timeline_build_json_ms_p50", "petty-timeline", "timeline build + JSON, 60,480 points, p50", "ms",
     r"\(60480 points.*?build \+ JSON p50 " + NUM + " ms", 1),
    ("timeline_bench", "pet_timeline_day_ms_p50", "petty-timeline", "GET /v1/pet-timeline, one day vs moto, p50", "ms",
     r"pet-timeline for one day.*?p50 " + NUM + " ms", 1),
    ("timeline_bench", "submit_feedback_ms_p50", "petty-feedback", "POST /v1/submit-feedback vs moto, p50", "ms",
     r"submit-feedback against moto: p50 " + NUM + " ms", 1),
]


def run_examples(env: dict, logs: Path) -> tuple[dict, dict]:
    outputs: dict[str, str] = {}
    for example in ("validate_bench", "auth_bench", "ingest_bench", "timeline_bench"):
        path = ROOT / "target/release/examples" / example
        print(f"== {example}", file=sys.stderr, flush=True)
        ex_env = {**env, "PETTY_PYTHON": sys.executable} if example == "timeline_bench" else env
        t = time.monotonic()
        proc = subprocess.run([str(path)], env=ex_env, cwd=ROOT, capture_output=True, text=True)
        (logs / f"{example}.log").write_text(proc.stdout + proc.stderr)
        outputs[example] = proc.stdout
        sys.stderr.write(proc.stdout)
        if proc.returncode != 0:
            print(f"   {example} exited with {proc.returncode} after {time.monotonic() - t:.0f} s "
                  f"(see {logs / (example + '.log')})", file=sys.stderr)
    figures = {}
    for example, key, binary, label, unit, regex, group in PATTERNS:
        m = re.search(regex, outputs.get(example, ""))
        figures[key] = {
            "value": float(m.group(group).replace(",", "")) if m else None,
            "unit": unit, "binary": binary, "label": label, "example": example,
        }
    return figures, outputs


# --------------------------------------------------------------------------- machine and table
def machine() -> dict:
    def sh(*cmd):
        try:
            return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or platform.machine())
    mem = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal:")), 0)
    os_name = next((line.split("=", 1)[1].strip('"') for line in Path("/etc/os-release").read_text().splitlines()
                    if line.startswith("PRETTY_NAME=")), platform.system()) if Path("/etc/os-release").exists() else platform.system()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "arch": platform.machine(),
        "memory_gb": round(mem / 1024 / 1024, 1),
        "os": os_name,
        "kernel": platform.release(),
        "rustc": sh("rustc", "-V"),
        "git_sha": sh("git", "rev-parse", "--short=12", "HEAD"),
        "git_dirty": bool(sh("git", "status", "--porcelain", "--untracked-files=no")),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "load_avg_1m_end": round(os.getloadavg()[0], 2),
    }


def short(name: str) -> str:
    return "floor" if name == FLOOR else name.removeprefix("petty-")


def fmt(x, digits=1) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, float) and (x >= 1000 or x.is_integer()):
        return f"{x:,.0f}"
    return f"{x:,.{digits}f}"


def table(run: dict) -> str:
    names = list(run["binaries"])
    b = run["binaries"]
    cfg = run["config"]
    rows: list[tuple[str, list[str]]] = []

    def row(label, cell):
        rows.append((label, [cell(n, b[n]) for n in names]))

    def warm(kind, what):
        def cell(n, x):
            w = x["warm"].get(kind)
            if not w:
                return ""
            return f"`{w['event']}`" if what == "event" else f"{w['p50_ms']:.2f} / {w['p99_ms']:.2f}"
        return cell

    mb = lambda n: f"{n / 1048576:.2f}" if n else "n/a"  # noqa: E731
    arch = run["machine"]["arch"]
    row("cold-start event", lambda n, x: f"`{x['cold_event']}`")
    row(f"cold init ms, p50 (max) of {cfg['runs']}", lambda n, x: f"{x['init_ms_p50']:.1f} ({x['init_ms_max']:.1f})")
    row(f"cold first response ms, p50 (max) of {cfg['runs']}",
        lambda n, x: f"{x['first_response_ms_p50']:.1f} ({x['first_response_ms_max']:.1f})")
    row("warm event, no storage call", warm(LOCAL, "event"))
    row(f"warm ms p50 / p99, no storage call ({cfg['warm'][LOCAL]:,} events)", warm(LOCAL, "ms"))
    row("warm event against moto", warm(MOTO, "event"))
    row(f"warm ms p50 / p99 against moto ({cfg['warm'][MOTO]:,} events)", warm(MOTO, "ms"))
    row("max RSS MB (VmHWM, after the warm events)", lambda n, x: f"{x['max_rss_kb'] / 1024:.1f}")
    row(f"stripped {arch} binary MB", lambda n, x: mb(x["host_size_bytes"]))
    row("stripped arm64 bootstrap MB", lambda n, x: mb(x["arm64_size_bytes"]))
    for key, label in (("init_ms_p50", "× floor: cold init"), ("first_response_ms_p50", "× floor: cold first response"),
                       ("warm_local_p50_ms", "× floor: warm p50, no storage call"), ("max_rss_kb", "× floor: max RSS"),
                       ("host_size_bytes", f"× floor: {arch} size"), ("arm64_size_bytes", "× floor: arm64 size")):
        row(label, lambda n, x, key=key: "1" if n == FLOOR else fmt((x.get("vs_floor") or {}).get(key), 2))
    row("unexpected status codes (cold + warm)",
        lambda n, x: str(x["cold_unexpected_status"] + sum(w["unexpected_status"] for w in x["warm"].values())))
    figures = run.get("in_process") or {}
    paired = {"login_ms_p50": "login_ms_p99", "ingest_request_ms_p50": "ingest_request_ms_p99"}
    for key, f in figures.items():
        if f["label"] is None:
            continue
        value = fmt(f["value"])
        if key in paired:
            value += f" / {fmt(figures[paired[key]]['value'])}"
        if f["value"] is not None:
            value += f['unit'] if f["unit"].startswith("/") else f" {f['unit']}"
        rows.append((f"in-process: {f['label']}", [value if n == f["binary"] else "" for n in names]))
    head = "| | " + " | ".join(short(n) for n in names) + " |"
    sep = "|---|" + "---:|" * len(names)
    return "\n".join([head, sep] + [f"| {label} | " + " | ".join(cells) + " |" for label, cells in rows])


def alerts_table(a: dict | None) -> str:
    """tools/alert_latency.py's figures (the local stack: cargo lambda watch, moto, the stream
    poller), as a second table."""
    if not a:
        return ""
    ing = a["ingest_10_readings_ms"]
    ev = a["evaluator_invoke_ms"]
    rows = [
        (f"accepted reading -> alert listed, ms p50 / p99 ({a['rounds']} escapes)",
         f"{fmt(a['reading_to_alert_open_ms']['p50'])} / {fmt(a['reading_to_alert_open_ms']['p99'])}"),
        ("return -> alert resolved, ms p50 / p99",
         f"{fmt(a['reading_to_alert_resolved_ms']['p50'])} / {fmt(a['reading_to_alert_resolved_ms']['p99'])}"),
    ]
    wh = a.get("reading_to_webhook_ms")
    if wh is not None:  # runs before notifications have no such figure
        missed = f", {wh['missed']} missed" if wh.get("missed") else ""
        rows.append((f"accepted reading -> webhook received (verified alert.opened), ms p50 / p99 ({wh['n']} escapes{missed})",
                     f"{fmt(a.get('webhook_p50_ms'))} / {fmt(a.get('webhook_p99_ms'))}"
                     + (f" ({wh['note']})" if wh.get("note") else "")))
    rows += [
        (f"POST /v1/ingest (10 readings) ms p50 / p99, evaluation on ({ing['evaluation_on']['n']})",
         f"{fmt(ing['evaluation_on']['p50'])} / {fmt(ing['evaluation_on']['p99'])}"),
        (f"POST /v1/ingest (10 readings) ms p50 / p99, evaluation off ({ing['evaluation_off']['n']})",
         f"{fmt(ing['evaluation_off']['p50'])} / {fmt(ing['evaluation_off']['p99'])}"),
        (f"evaluator invocation per stream batch, ms p50 ({ev['n']} batches; inline, ingest would wait this)",
         fmt(ev["p50"])),
    ]
    return "\n\n| alerts on the local stack | |\n|---|---:|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)


def machine_line(m: dict) -> str:
    dirty = ", uncommitted changes" if m.get("git_dirty") else ""
    load = (f"; load average {m['load_avg_1m_start']} at start, {m['load_avg_1m_end']} at end"
            if "load_avg_1m_start" in m else "")
    return (f"{m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, {m['os']}, kernel {m['kernel']}, "
            f"{m['rustc']}; git {m['git_sha']}{dirty}; {m['date']}{load}")


# --------------------------------------------------------------------------- commands
def load_env_file(path: Path) -> dict:
    env = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            k, v = line.split("=", 1)
            env[k.strip()] = v.strip()
    return env


def cmd_run(args) -> None:
    started, load_start = time.monotonic(), round(os.getloadavg()[0], 2)
    OUT.mkdir(parents=True, exist_ok=True)
    logs = OUT / "logs"
    logs.mkdir(exist_ok=True)
    for f in logs.glob("*.log"):
        f.unlink()
    stack = load_env_file(Path(args.env_file)) if args.env_file else {}
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        **stack,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_LEVEL": "WARN",
        # Production's secret cache TTL (the local stack's 10 s would refetch during the warm runs).
        "SECRET_TTL_SECONDS": "300",
    }
    env.setdefault("STAGE", "bench")
    names = [FLOOR] + FUNCTIONS
    missing = [n for n in names if not release(n).exists()]
    if missing:
        raise SystemExit(f"missing release binaries {missing}: run `make bench` (or cargo build --release)")
    fx = Fixtures(env, logs) if stack else None
    warm = {LOCAL: args.warm, MOTO: args.warm_moto}
    plan = scenarios(fx)
    names = [n for n in names if n in plan]
    print(f"== cold starts: {args.runs} rounds over {', '.join(names)}", file=sys.stderr, flush=True)
    t = time.monotonic()
    binaries = cold_starts(names, plan, env, args.runs, logs)
    for name, x in binaries.items():
        print(f"   {name}: init p50 {x['init_ms_p50']} ms (max {x['init_ms_max']}), first response p50 "
              f"{x['first_response_ms_p50']} ms (max {x['first_response_ms_max']})", file=sys.stderr)
    print(f"   ({time.monotonic() - t:.0f} s)", file=sys.stderr, flush=True)
    for name in names:
        plan = scenarios(fx)  # the bearer token is renewed when 10 of its 15 minutes are gone
        print(f"== {name}: warm " + ", ".join(f"{warm[e['kind']]:,} x `{e['label']}`" for e in plan[name]),
              file=sys.stderr, flush=True)
        t = time.monotonic()
        x = binaries[name]
        x.update(warm_runs(name, plan[name], env, warm, logs))
        print(f"   RSS {x['max_rss_kb']} kB; " + "; ".join(f"{k} p50 {w['p50_ms']} ms p99 {w['p99_ms']} ms {w['statuses']}"
                                                      for k, w in x["warm"].items())
              + f" ({time.monotonic() - t:.0f} s)", file=sys.stderr, flush=True)
    ratios(binaries)
    in_process, outputs = ({}, {}) if args.skip_examples or not stack else run_examples({**os.environ, **stack}, logs)
    m = {**machine(), "load_avg_1m_start": load_start}
    run = {
        "schema": 1,
        "machine": m,
        "config": {"runs": args.runs, "warm": warm, "secret_ttl_seconds": 300,
                   "emulator": "tools/bench.py Runtime API (Python, loopback)", "stack": "moto (single process)"},
        "binaries": binaries,
        "in_process": in_process,
        "example_output": outputs,
        "elapsed_s": round(time.monotonic() - started, 1),
    }
    if args.alerts_json and Path(args.alerts_json).is_file():
        try:
            run["alerts_local_stack"] = json.loads(Path(args.alerts_json).read_text())
        except ValueError as e:
            print(f"alert figures unreadable ({e}): their rows are missing", file=sys.stderr)
    run["table_markdown"] = table(run) + alerts_table(run.get("alerts_local_stack"))
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = OUT / f"bench-{m['git_sha'] or 'nogit'}-{stamp}.json"
    text = json.dumps(run, indent=2) + "\n"
    path.write_text(text)
    (OUT / "latest.json").write_text(text)
    print()
    print(run["table_markdown"])
    print()
    print(f"Machine: {machine_line(m)}")
    print(f"Written: {path.relative_to(ROOT)} and target/bench/latest.json ({run['elapsed_s']:.0f} s)")


def flatten(value, prefix="") -> dict:
    out = {}
    if isinstance(value, dict):
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.update(flatten(v, f"{prefix}[{i}]"))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        out[prefix] = value
    return out


def cmd_compare(args) -> None:
    a, b = (json.loads(Path(p).read_text()) for p in (args.a, args.b))
    print(f"A: {args.a}\n   {machine_line(a['machine'])}\nB: {args.b}\n   {machine_line(b['machine'])}\n")
    fa = flatten({"binaries": a.get("binaries", {}), "in_process": {k: v.get("value") for k, v in a.get("in_process", {}).items()}})
    fb = flatten({"binaries": b.get("binaries", {}), "in_process": {k: v.get("value") for k, v in b.get("in_process", {}).items()}})
    skip = ("cold_runs", "invocations", "expected_status", "statuses")
    print(f"| figure | A | B | B − A | change |\n|---|---:|---:|---:|---:|")
    for key in sorted(set(fa) | set(fb), key=lambda k: (k.split(".")[0], k)):
        if any(s in key for s in skip):
            continue
        x, y = fa.get(key), fb.get(key)
        if x is None or y is None:
            print(f"| {key} | {fmt(x, 2)} | {fmt(y, 2)} | | |")
            continue
        change = f"{(y - x) / x * 100:+.1f} %" if x else ""
        print(f"| {key} | {fmt(float(x), 2)} | {fmt(float(y), 2)} | {fmt(float(y - x), 2)} | {change} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="measure everything, print the table, write the JSON")
    r.add_argument("--env-file", help="the seeded stack's environment (tools/local_aws.py seed --env-file)")
    r.add_argument("--runs", type=int, default=20, help="cold starts per binary")
    r.add_argument("--warm", type=int, default=2000, help="warm invocations of each event without a storage call")
    r.add_argument("--warm-moto", type=int, default=1000, help="warm invocations of each event against moto")
    r.add_argument("--skip-examples", action="store_true", help="only the Runtime API measurements")
    r.add_argument("--alerts-json", help="tools/alert_latency.py's output, folded into the run")
    r.set_defaults(func=cmd_run)
    c = sub.add_parser("compare", help="differences between two bench JSON files")
    c.add_argument("a")
    c.add_argument("b")
    c.set_defaults(func=cmd_compare)
    args = ap.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
