#!/usr/bin/env python3
"""A small local webhook receiver for Petty's deliveries (a dev tool: `make dev` runs one for the
demo owner's webhook; tests and `make bench` run their own). Standard library only; listens on
127.0.0.1 alone.

    .venv/bin/python tools/webhook_receiver.py [--port 9010] [--secret-file target/dev-webhook-secret]
        [--log target/dev-webhooks.jsonl] [--status 200] [--delay 0] [--quiet]

  - --port 0 picks a free port; the first line printed is always
    `webhook-receiver: listening on http://127.0.0.1:PORT`.
  - Every POST (any path) is a delivery. With --secret-file it verifies the
    `Petty-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>` header
    (the secret is the whole `whsec_...` string's UTF-8 bytes; several v1= values may be given,
    one must match) and rejects, with 400 and the reason printed, a missing or bad signature
    and a timestamp more than --tolerance seconds (300: 5 minutes) old or ahead: a replay. The
    secret file is read again on each request, so it may be written after the receiver starts
    (tools/demo.py writes it once it has registered the webhook); while it is missing or empty
    every delivery is refused (400, "no secret yet"). Without --secret-file nothing is verified
    and every delivery is accepted (verified: no).
  - A verified delivery is answered --status (default 200; 500, 429 or 400 for tests and
    benches that need failures) after --delay seconds (a timeout, when longer than the
    sender's).
  - One line per delivery on stdout: event, alert type, collar, alert id, delivery id,
    verified yes/no, the status answered (a repeated Petty-Delivery-Id is marked duplicate).
    Never the secret or the signature.
  - --log FILE appends one JSON object per delivery: {received_at_ms, path, headers (content-type,
    user-agent, petty-signature, petty-delivery-id), body (parsed JSON, else text), verified,
    reason, status, duplicate}.
  - GET /received: the JSON list of those objects, oldest first (for tests and the bench);
    GET /health: {"ok": true}; POST /_control {"status"?, "delay"?, "clear"?: true} changes the
    answer for later deliveries (e.g. 500 then 200) or forgets what was received.
  - SIGTERM / SIGINT stop it.

Imported, `Receiver(port=0, secret_file=..., log=...)` runs the same server in a thread
(tools/alert_latency.py): `.start()`, `.url`, `.received()`, `.stop()`.
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HOST = "127.0.0.1"
MAX_BODY = 256 * 1024
KEPT_HEADERS = ("content-type", "user-agent", "petty-signature", "petty-delivery-id")


def parse_signature(header: str) -> tuple[int | None, list[str]]:
    """`t=<unix seconds>,v1=<hex>[,v1=<hex>...]` -> (t, [v1...]); (None, []) when malformed."""
    t, v1 = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                t = int(value)
            except ValueError:
                return None, []
        elif key == "v1" and value:
            v1.append(value.strip().lower())
    return t, v1


def verify(secret: str, header: str | None, body: bytes, now: float, tolerance: int) -> tuple[bool, str]:
    """(True, "") or (False, why) for a delivery's Petty-Signature."""
    if not header:
        return False, "no Petty-Signature header"
    t, v1 = parse_signature(header)
    if t is None or not v1:
        return False, "malformed Petty-Signature (want t=<unix seconds>,v1=<hex>)"
    age = now - t
    if age > tolerance:
        return False, f"signed {age:.0f} s ago, over {tolerance} s: refused as a replay"
    if age < -tolerance:
        return False, f"signed {-age:.0f} s in the future, over {tolerance} s: refused"
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, v) for v in v1):
        return False, "signature does not match (wrong secret, or the body was altered)"
    return True, ""


class Receiver:
    """The receiver's state and server; `serve_forever()` in the caller's thread or `start()`."""

    def __init__(self, port: int = 0, secret_file: str | None = None, log: str | None = None, status: int = 200,
                 delay: float = 0.0, tolerance: int = 300, quiet: bool = False, out=None):
        self.secret_file = Path(secret_file) if secret_file else None
        self.log = Path(log) if log else None
        self.status, self.delay, self.tolerance, self.quiet = status, delay, tolerance, quiet
        self.out = out or sys.stdout
        self._lock = threading.Lock()
        self._received: list[dict] = []
        self._seen_ids: set[str] = set()
        self._thread: threading.Thread | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "petty-webhook-receiver/1"

            def log_message(self, *_):  # one line per delivery is printed, not the access log
                pass

            def do_GET(self):
                path = self.path.split("?", 1)[0]
                if path == "/received":
                    self._json(200, receiver.received())
                elif path == "/health":
                    self._json(200, {"ok": True})
                else:
                    self._json(404, {"error": "GET /received or /health; deliveries are POSTs"})

            def do_POST(self):
                try:
                    length = int(self.headers.get("content-length") or 0)
                except ValueError:
                    length = -1
                if length < 0 or length > MAX_BODY:
                    self._json(413, {"error": f"body over {MAX_BODY} bytes or without a length"})
                    return
                raw = self.rfile.read(length) if length else b""
                if self.path.split("?", 1)[0] == "/_control":
                    self._json(200, receiver.control(raw))
                    return
                status, record = receiver.handle(self.path, {k.lower(): v for k, v in self.headers.items()}, raw)
                if status < 300 and receiver.delay > 0:
                    time.sleep(receiver.delay)
                self._json(status, {"accepted": status < 300, "reason": record["reason"] or None})

            def _json(self, status: int, body) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the sender gave up (its timeout)
                    pass

        self.server = ThreadingHTTPServer((HOST, port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://{HOST}:{self.port}"

    # ------------------------------------------------------------------ state
    def received(self) -> list[dict]:
        with self._lock:
            return list(self._received)

    def control(self, raw: bytes) -> dict:
        try:
            change = json.loads(raw or b"{}")
        except ValueError:
            change = {}
        with self._lock:
            if "status" in change:
                self.status = int(change["status"])
            if "delay" in change:
                self.delay = float(change["delay"])
            if change.get("clear"):
                self._received.clear()
                self._seen_ids.clear()
            return {"status": self.status, "delay": self.delay, "received": len(self._received)}

    def secret(self) -> str | None:
        try:
            return self.secret_file.read_text().strip() or None
        except OSError:
            return None

    def handle(self, path: str, headers: dict, raw: bytes) -> tuple[int, dict]:
        received_at_ms = int(time.time() * 1000)
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        if self.secret_file is None:
            verified, reason = False, "not checked (no --secret-file)"
            ok = True
        else:
            secret = self.secret()
            if secret is None:
                verified, reason = False, f"no secret yet in {self.secret_file}"
            else:
                verified, reason = verify(secret, headers.get("petty-signature"), raw, time.time(), self.tolerance)
            ok = verified
        delivery_id = headers.get("petty-delivery-id") or (body.get("id") if isinstance(body, dict) else None)
        with self._lock:
            status = self.status if ok else 400
            duplicate = bool(delivery_id) and delivery_id in self._seen_ids
            if delivery_id and status < 300:
                self._seen_ids.add(delivery_id)
            record = {
                "received_at_ms": received_at_ms,
                "path": path,
                "headers": {k: headers[k] for k in KEPT_HEADERS if k in headers},
                "body": body,
                "verified": verified,
                "reason": reason,
                "status": status,
                "duplicate": duplicate,
            }
            self._received.append(record)
            if self.log:
                with open(self.log, "a") as f:
                    f.write(json.dumps(record) + "\n")
        if not self.quiet:
            print(f"webhook-receiver: {describe(body)}, delivery {delivery_id or '?'}: "
                  f"verified {'yes' if verified else 'no'}{' (' + reason + ')' if reason else ''}"
                  f"{', duplicate' if duplicate else ''} -> {status}", file=self.out, flush=True)
        return status, record

    # ------------------------------------------------------------------ running
    def serve_forever(self) -> None:
        try:
            self.server.serve_forever(poll_interval=0.2)
        finally:
            self.server.server_close()

    def start(self) -> "Receiver":
        self._thread = threading.Thread(target=self.serve_forever, name="webhook-receiver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        if self._thread:
            self._thread.join(timeout=5)


def describe(body) -> str:
    """`alert.opened zone_exit, collar DM-000001, alert <id>`: what a delivery is about."""
    if not isinstance(body, dict):
        return "a body that is not JSON"
    alert = body.get("alert") if isinstance(body.get("alert"), dict) else {}
    return (f"{body.get('event', '?')} {alert.get('type', '?')}, collar {alert.get('collar_id', '?')}, "
            f"alert {alert.get('alert_id', '?')}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=9010, help="127.0.0.1 port (0: pick a free one; default 9010)")
    p.add_argument("--secret-file", help="the webhook's secret (whsec_...), read on each request")
    p.add_argument("--log", help="JSONL file each delivery is appended to")
    p.add_argument("--status", type=int, default=200, help="the answer to a verified delivery (default 200)")
    p.add_argument("--delay", type=float, default=0.0, help="seconds before answering a verified delivery")
    p.add_argument("--tolerance", type=int, default=300, help="max age of a signature's timestamp, s (default 300)")
    p.add_argument("--quiet", action="store_true", help="no line per delivery")
    args = p.parse_args()
    if not 100 <= args.status <= 599:
        p.error("--status must be an HTTP status code")
    try:
        receiver = Receiver(args.port, args.secret_file, args.log, args.status, args.delay, args.tolerance, args.quiet)
    except OSError as e:
        sys.exit(f"webhook-receiver: cannot listen on {HOST}:{args.port} ({e.strerror or e}); "
                 "another port: --port (make dev: PETTY_WEBHOOK_PORT=...)")

    def on_signal(*_):
        threading.Thread(target=receiver.server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"webhook-receiver: listening on {receiver.url} (deliveries: POST any path; GET /received)"
          f"{'; verifying with ' + args.secret_file if args.secret_file else '; not verifying (no --secret-file)'}",
          flush=True)
    receiver.serve_forever()
    print(f"webhook-receiver: stopped after {len(receiver.received())} deliveries", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
