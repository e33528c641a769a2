#!/usr/bin/env python3
"""Measure a function binary under a minimal Lambda Runtime API emulator on loopback.

    coldstart.py BINARY [--runs 20] [--warm 2000] [--event events/health/liveness.json]

For each run it starts the binary with AWS_LAMBDA_RUNTIME_API pointing here and records:
  init_ms   process start -> its first `GET /runtime/invocation/next` (cold-start init)
  first_ms  process start -> the response to the first event
and, on the last run, warm invocation latency (p50/p99 over --warm events, measured from
handing out the event to receiving its response) and the process's max RSS (VmHWM).
Numbers only: nothing here passes or fails.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class Emulator:
    def __init__(self, event: bytes, total: int):
        self.event, self.total = event, total
        self.served = 0
        self.first_next_ns: int | None = None
        self.handed_out_ns: dict[str, int] = {}
        self.latencies_ns: list[int] = []
        self.first_response_ns: int | None = None
        self.statuses: list[int] = []
        self.done = threading.Event()
        self.lock = threading.Lock()


def make_handler(emu: Emulator):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # else delayed ACKs add ~40 ms per event

        def log_message(self, *args):  # quiet
            pass

        def do_GET(self):
            if not self.path.endswith("/runtime/invocation/next"):
                self.send_error(404)
                return
            now = time.perf_counter_ns()
            with emu.lock:
                if emu.first_next_ns is None:
                    emu.first_next_ns = now
                if emu.served >= emu.total:
                    emu.done.set()
                    # Park the runtime: the run is over and the process is about to be killed.
                    time.sleep(30)
                    return
                emu.served += 1
            rid = str(uuid.uuid4())
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Lambda-Runtime-Aws-Request-Id", rid)
            self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30_000))
            self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bench")
            self.send_header("Lambda-Runtime-Trace-Id", "Root=1-6740d5a0-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=0")
            self.send_header("Content-Length", str(len(emu.event)))
            self.end_headers()
            emu.handed_out_ns[rid] = time.perf_counter_ns()
            self.wfile.write(emu.event)

        def do_POST(self):
            now = time.perf_counter_ns()
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            rid = self.path.split("/")[-2]
            with emu.lock:
                if emu.first_response_ns is None:
                    emu.first_response_ns = now
                start = emu.handed_out_ns.pop(rid, None)
                if start is not None:
                    emu.latencies_ns.append(now - start)
                if self.path.endswith("/response"):
                    try:
                        emu.statuses.append(json.loads(body).get("statusCode", 0))
                    except ValueError:
                        emu.statuses.append(0)
                else:
                    emu.statuses.append(-1)
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


def max_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def run_once(binary: str, event: bytes, total: int, env: dict) -> dict:
    emu = Emulator(event, total)
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(emu))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    full_env = {**env, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}"}
    start = time.perf_counter_ns()
    proc = subprocess.Popen([binary], env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finished = emu.done.wait(timeout=120)
    rss = max_rss_kb(proc.pid) if proc.poll() is None else 0
    proc.kill()
    proc.wait()
    server.shutdown()
    if not finished or emu.first_next_ns is None:
        raise SystemExit(f"{binary} did not complete {total} invocations (statuses {emu.statuses[:5]})")
    return {
        "init_ms": (emu.first_next_ns - start) / 1e6,
        "first_ms": (emu.first_response_ns - start) / 1e6,
        "latencies_ms": [n / 1e6 for n in emu.latencies_ns],
        "statuses": emu.statuses,
        "max_rss_mb": rss / 1024,
    }


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warm", type=int, default=2000)
    ap.add_argument("--event", default="events/health/liveness.json")
    args = ap.parse_args()
    event = Path(args.event).read_bytes()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_LAMBDA_FUNCTION_NAME": Path(args.binary).name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_LEVEL": "WARN",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "STAGE": "bench",
        "JWT_ISSUER": "https://auth.petty.example",
        "JWT_AUDIENCE": "petty-api",
        "PUBLIC_KEYS_SECRET_ID": "petty/bench/jwt-public-keys",
    }
    cold = [run_once(args.binary, event, 1, env) for _ in range(args.runs)]
    warm = run_once(args.binary, event, args.warm + 1, env)
    lat = warm["latencies_ms"][1:]
    bad = [s for s in warm["statuses"] if s != 200]
    result = {
        "binary": args.binary,
        "size_bytes": Path(args.binary).stat().st_size,
        "init_ms_p50": round(statistics.median(r["init_ms"] for r in cold), 2),
        "init_ms_max": round(max(r["init_ms"] for r in cold), 2),
        "first_response_ms_p50": round(statistics.median(r["first_ms"] for r in cold), 2),
        "warm_ms_p50": round(pct(lat, 50), 3),
        "warm_ms_p99": round(pct(lat, 99), 3),
        "warm_invocations": len(lat),
        "non_200": len(bad),
        "max_rss_mb": round(warm["max_rss_mb"], 1),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    sys.exit(main())
