"""Loads `make dev`'s demo through the local API, then prints how to use it:

- an operator, OPS_EMAIL, made one as on any stack: registered, granted `admin` with
  `tools/local_aws.py grant-scope` (in the local moto), logged in again; it registers the demo
  collar through `POST /v1/admin/collars` and gets its claim code (tools/loadlib.py's Operator);
- an owner, EMAIL, who claims the collar with that code, registers `make dev`'s local webhook
  receiver (tools/webhook_receiver.py, --webhook-url) as a webhook named "demo receiver"
  through `POST /v1/notifications/webhooks` and writes the signing secret it returns to
  --webhook-secret-file (mode 0600; the receiver verifies each delivery with it), creates the
  collar's API key and ingests one simulated day;
- a household: a caregiver, SITTER_EMAIL, registered and verified, invited by the owner and
  joined with the token from their inbox (moto's SES record);
- a safe zone "home" (150 m around the simulated home) and the last eight minutes live: the
  pet slips out (an escape, confirmed by the second fix outside), comes back (the return
  resolves it) while the battery falls below 15 % (battery_low), so `petty alerts DM-000001`
  shows both, and the escape arrives at the webhook receiver (a line in `make dev`'s output).
  Yesterday's readings are too old to raise anything: alerts describe the present.

The day is yesterday (UTC), produced by the Rust simulator (`--example simulate`): a collar's
first owner sees what it buffered before the claim, so the day is the owner's. The grant is
the only write made around the API, and only ever on the local stack.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

from loadlib import Operator
from local_aws import inbox_token

EMAIL = "demo@petty.local"
PASSWORD = "demo-password-petty-2026"
OPS_EMAIL = "ops@petty.local"
OPS_PASSWORD = "ops-password-petty-2026"
COLLAR = "DM-000001"
FIRMWARE = "2.4.1"
WEBHOOK_NAME = "demo receiver"
SITTER_EMAIL = "sitter@petty.local"
SITTER_PASSWORD = "sitter-password-petty-2026"


def call(api: str, method: str, path: str, body=None, headers=None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(api + path, data=data, method=method)
    req.add_header("content-type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            status, text = resp.status, resp.read().decode() or "null"
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode() or "null"
    try:
        return status, json.loads(text)
    except ValueError:  # e.g. `cargo lambda watch` answering a route it has no function for
        return status, {"raw": text[:300]}


def wait_for(api: str, seconds: int) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if call(api, "GET", "/v1/health")[0] == 200:
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(2)
    sys.exit(f"demo: the local API at {api} did not answer within {seconds} s")


HOME = (40.7128, -74.0060)  # the simulator's home (lat, lon)
ZONE = {"name": "Home", "center": [HOME[1], HOME[0]], "radius_m": 150}


def live_tail(api: str, bearer: dict, collar_key: dict, last: dict) -> str:
    """The demo's zone, then eight minutes up to now at rest, out of the zone (~400 m north)
    for a minute and back, the battery falling to 12 %; waits for the evaluator's alerts."""
    status, body = call(api, "PUT", f"/v1/collars/{COLLAR}/zones/home", ZONE, bearer)
    if status not in (200, 201):
        sys.exit(f"demo: zone answered {status}: {body}")
    now = datetime.now(timezone.utc).replace(microsecond=0)
    tail = []
    for i in range(48):
        out = 20 <= i < 26  # six fixes outside, then home again
        lat = HOME[0] + (0.0036 if out else 0.0002 * ((i % 3) - 1))
        ts = now - timedelta(seconds=10 * (48 - i))
        tail.append({**{k: last[k] for k in ("collar_id",)}, "timestamp": ts.isoformat().replace("+00:00", "Z"),
                     "heart_rate": 96 if out else 78, "activity_level": 1 if out else 0,
                     "location": {"type": "Point", "coordinates": [HOME[1], lat]},
                     "accuracy_m": 5, "battery_pct": max(12, 20 - i // 4), "firmware": FIRMWARE})
    status, body = call(api, "POST", "/v1/ingest", {"readings": tail}, collar_key)
    if status != 200:
        sys.exit(f"demo: live ingest answered {status}: {body}")
    deadline = time.time() + 120
    seen = []
    while time.time() < deadline:
        status, body = call(api, "GET", f"/v1/alerts?collar_id={COLLAR}", None, bearer)
        seen = body.get("alerts", []) if status == 200 else []
        kinds = {(a["type"], a["status"]) for a in seen}
        if ("zone_exit", "resolved") in kinds and any(k == "battery_low" for k, _ in kinds):
            break
        time.sleep(1)
    return ", ".join(f"{a['type']} {a['status']}" for a in seen) or "none yet: the evaluator may still be starting"


def demo_webhook(api: str, bearer: dict, url: str, secret_file: str) -> str:
    """The demo owner's webhook to the local receiver, once: kept when GET already lists one
    with this URL and its secret is on file; else (re)registered and its secret written to
    `secret_file` (0600) for the receiver. Returns what to tell the newcomer; never fails the
    demo (the notifications function may not be built yet)."""
    path = "/v1/notifications/webhooks"
    status, body = call(api, "GET", path, None, bearer)
    if status == 404:
        return (f"no demo webhook: GET {path} answered 404 (the notifications function is not in this build; "
                "build petty-notifications and petty-notifier, then run make dev again)")
    if status != 200:
        return f"no demo webhook: GET {path} answered {status}: {str(body)[:200]}"
    mine = [w for w in body.get("webhooks", []) if w.get("url") == url]
    secret_path = Path(secret_file)
    if mine and secret_path.is_file() and secret_path.read_text().strip():
        return f"webhook {mine[0].get('webhook_id')} ({WEBHOOK_NAME}) -> {url}, already registered"
    for w in mine:  # registered by an earlier run whose secret is gone: replace it
        call(api, "DELETE", f"{path}/{w['webhook_id']}", None, bearer)
    status, body = call(api, "POST", path, {"url": url, "name": WEBHOOK_NAME}, bearer)
    if status == 404:
        return f"no demo webhook: POST {path} answered 404 (the notifications function is not in this build)"
    if status != 201 or not isinstance(body.get("secret"), str):
        return f"no demo webhook: POST {path} answered {status}: {str(body)[:200]}"
    secret_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = secret_path.with_name(secret_path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(body["secret"] + "\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, secret_path)  # the receiver never reads half a secret
    return f"webhook {body.get('webhook_id')} ({WEBHOOK_NAME}) -> {url}, its secret in {secret_file}"


def verify_email(api: str, moto: str, bearer: dict) -> str:
    """Alert e-mail goes to verified addresses only: the demo owner confirms theirs with the
    token from the local inbox (moto's record of what SES sent), as a user would."""
    status, body = call(api, "POST", "/v1/auth/verify-email", {}, bearer)
    if status == 409:
        return f"{EMAIL} already verified"
    if status != 202:
        return f"{EMAIL} not verified: verify-email answered {status}: {body}"
    token = inbox_token(moto, EMAIL, "verif")
    status, body = call(api, "POST", "/v1/auth/verify-email/confirm", {"token": token}, {})
    return f"{EMAIL} verified" if status == 200 else f"{EMAIL} not verified: confirm answered {status}: {body}"


def household(api: str, moto: str, owner: dict) -> str:
    """A caregiver for the demo pet, as a household gets one: the sitter registers and verifies
    their address, the owner invites them (`POST /v1/collars/{id}/members`), and they accept
    with the token from their inbox (`POST /v1/invitations/accept`)."""
    creds = {"email": SITTER_EMAIL, "password": SITTER_PASSWORD}
    status, body = call(api, "POST", "/v1/auth/register", {**creds, "name": "Demo Sitter"})
    if status not in (201, 409):
        return f"no demo household: register answered {status}: {body}"
    status, body = call(api, "POST", "/v1/auth/login", creds)
    if status != 200:
        return f"no demo household: login answered {status}: {body}"
    sitter = {"authorization": f"Bearer {body['access_token']}"}
    status, _ = call(api, "POST", "/v1/auth/verify-email", {}, sitter)
    if status == 202:
        token = inbox_token(moto, SITTER_EMAIL, "verif")
        call(api, "POST", "/v1/auth/verify-email/confirm", {"token": token}, {})
    invite = {"email": SITTER_EMAIL, "role": "caregiver"}
    status, body = call(api, "POST", f"/v1/collars/{COLLAR}/members", invite, owner)
    if status != 201:
        return f"no demo household: invite answered {status}: {body}"
    token = inbox_token(moto, SITTER_EMAIL, "shared")
    status, body = call(api, "POST", "/v1/invitations/accept", {"token": token}, sitter)
    if status != 200:
        return f"no demo household: accept answered {status}: {body}"
    return f"{SITTER_EMAIL} / {SITTER_PASSWORD} is {COLLAR}'s caregiver"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--api", required=True)
    p.add_argument("--endpoint", required=True, help="the local moto, where the operator is granted `admin`")
    p.add_argument("--stage", default="dev")
    p.add_argument("--wait", type=int, default=900)
    p.add_argument("--webhook-url", help="the local webhook receiver registered for the demo owner "
                                         "(make dev: http://127.0.0.1:9010/petty); none without it")
    p.add_argument("--webhook-secret-file", default="target/dev-webhook-secret",
                   help="where the webhook's signing secret is written for the receiver (0600)")
    args = p.parse_args()

    wait_for(args.api, args.wait)

    def api_call(method, path, body=None, token=None):
        return call(args.api, method, path, body, {"authorization": f"Bearer {token}"} if token else None)

    operator = Operator(api_call, endpoint=args.endpoint, stage=args.stage, email=OPS_EMAIL, password=OPS_PASSWORD)
    try:
        claim_code = operator.register([COLLAR])[COLLAR]
    except RuntimeError as e:
        sys.exit(f"demo: the operator could not register {COLLAR}: {e}")
    creds = {"email": EMAIL, "password": PASSWORD}
    status, body = call(args.api, "POST", "/v1/auth/register", {**creds, "name": "Demo Owner"})
    if status not in (201, 409):
        sys.exit(f"demo: register answered {status}: {body}")
    status, body = call(args.api, "POST", "/v1/auth/login", creds)
    if status != 200:
        sys.exit(f"demo: login answered {status}: {body}")
    bearer = {"authorization": f"Bearer {body['access_token']}"}
    print(f"demo: {verify_email(args.api, args.endpoint, bearer)}", flush=True)
    webhook = "no demo webhook (no --webhook-url)"
    if args.webhook_url:
        try:
            webhook = demo_webhook(args.api, bearer, args.webhook_url, args.webhook_secret_file)
        except OSError as e:  # a function that does not build answers nothing, or too late
            webhook = f"no demo webhook: /v1/notifications/webhooks did not answer ({type(e).__name__})"
        print(f"demo: {webhook}", flush=True)
    pet = {"name": "Biscuit", "species": "dog", "breed": "Beagle", "birth_date": "2021-04-12", "weight_kg": 18.0}
    claim = {"collar_id": COLLAR, "claim_code": claim_code, "pet": pet}
    status, body = call(args.api, "POST", "/v1/collars", claim, bearer)
    if status not in (200, 201):
        sys.exit(f"demo: claim answered {status}: {body}")
    members = household(args.api, args.endpoint, bearer)
    print(f"demo: {members}", flush=True)
    status, body = call(
        args.api,
        "POST",
        "/v1/api-keys",
        {"name": "demo collar", "scopes": ["readings:write", "timeline:read"], "collar_ids": [COLLAR]},
        bearer,
    )
    if status != 201:
        sys.exit(f"demo: API key answered {status}: {body}")
    collar_key = {"x-api-key": body["api_key"]}

    day = (datetime.now(timezone.utc) - timedelta(days=1)).date()
    lines = subprocess.run(
        ["cargo", "run", "-q", "-p", "petty-behaviour", "--example", "simulate", "--",
         "--collar", COLLAR, "--day", day.isoformat(), "--seed", "7"],
        check=True, capture_output=True, text=True,
    ).stdout.splitlines()
    # Only what is over 16 minutes old by now: the live minutes come from live_tail() (right
    # after midnight, the end of "yesterday" would otherwise overlap them).
    fresh_from = datetime.now(timezone.utc) - timedelta(minutes=16)
    readings = [r for r in (json.loads(line) for line in lines)
                if datetime.fromisoformat(r["timestamp"].replace("Z", "+00:00")) < fresh_from]
    # Fleet status (`petty collars show`): a battery draining over the day, a firmware version.
    for i, r in enumerate(readings):
        r.update(battery_pct=max(5, 100 - 40 * i // max(1, len(readings))), firmware=FIRMWARE)
    accepted = duplicates = 0
    for i in range(0, len(readings), 500):
        status, body = call(args.api, "POST", "/v1/ingest", {"readings": readings[i:i + 500]}, collar_key)
        if status != 200:
            sys.exit(f"demo: ingest answered {status}: {body}")
        accepted += body["accepted"]
        duplicates += body["duplicates"]
    alerts = live_tail(args.api, bearer, collar_key, readings[-1])
    # The finished demo day, read once: computed from its readings and stored as its day record,
    # so `petty timeline --day` and the plan are served from the record from now on.
    started = time.monotonic()
    status, body = call(args.api, "GET", f"/v1/pet-timeline?collar_id={COLLAR}&day={day.isoformat()}&limit=500", None, bearer)
    computed = (f"computed once in {time.monotonic() - started:.1f} s and stored as its day record"
                if status == 200 else f"not computed yet ({status}): the first read computes it")
    api = "" if args.api == "http://127.0.0.1:9000" else f" --api {args.api}"
    moto_port = args.endpoint.rsplit(":", 1)[-1].rstrip("/")
    make_vars = ("" if args.stage == "dev" else f" STAGE={args.stage}") + \
        ("" if moto_port == "4566" else f" ENDPOINT={args.endpoint}")
    print(f"""
Demo loaded: {EMAIL} / {PASSWORD} owns collar {COLLAR} (Biscuit); {day}: {accepted} readings stored, {duplicates} duplicate deliveries ignored.
Operator {OPS_EMAIL} / {OPS_PASSWORD} (admin scope) registered {COLLAR}; the owner claimed it with its code.
See its day with the petty CLI (`cargo install --path clients/petty-cli`, or `cargo run -q -p petty-cli --` in place of `petty`):
  PETTY_PASSWORD='{PASSWORD}' petty{api} login --email {EMAIL}
  petty{api} timeline {COLLAR} --day {day}
  petty{api} plan {COLLAR}
  petty{api} collars show {COLLAR}          # fleet status: last seen, battery, firmware
The demo day was {computed}: it is served from that record (milliseconds); only today is read from readings.
Register a collar as an operator, then claim it as an owner:
  PETTY_PASSWORD='{OPS_PASSWORD}' petty{api} login --email {OPS_EMAIL}   # already admin; another account: make admin{make_vars} EMAIL=you@example.com, then log in again
  petty{api} admin register AB-123456                 # prints its claim code, once
  PETTY_PASSWORD='{PASSWORD}' petty{api} login --email {EMAIL}
  petty{api} collars add AB-123456 --claim-code CODE --name Rex --species dog --weight-kg 30
Collar readings through the IoT rule's queue (the poller runs with `make dev`): make stream-demo COLLAR={COLLAR}
Alerts, raised as the last minutes arrived ({alerts}):
  petty{api} zones list {COLLAR}
  petty{api} alerts {COLLAR}
  petty{api} alerts ack ALERT_ID
Household: {members} (an escape reaches them too, by their own settings):
  petty{api} members {COLLAR}
  petty{api} members invite {COLLAR} friend@example.com --role viewer --until 2030-01-01T00:00:00Z
Notifications: {webhook}.
  The escape's delivery is the "webhook-receiver: alert.opened zone_exit ..." line above (each delivery the
  receiver got: target/dev-webhooks.jsonl); GET /v1/alerts/ALERT_ID, as the owner, lists an alert's deliveries.
""", flush=True)


if __name__ == "__main__":
    main()
