"""Seeds real credentials for the API contract fuzzing (tools/fuzz_api.sh), through the API
itself: an operator (tools/loadlib.py's Operator: registered, granted `admin` in the local moto
with tools/local_aws.py grant-scope, logged in again) who registers the collars below and one
more that nobody claims (for the fuzzer's claim-code resets); an owner (register + login), a
second session of the same owner that the fuzzer may log out, a collar claimed with its code
and a few readings from the last minutes, an API key for it, a second key and a second collar
that the fuzzer may revoke and release (and claim again with the same code), and one timeline
event (on a third collar the fuzzer never ingests for) to give feedback on. Prints
`export NAME=VALUE` lines for tools/st_hooks.py.

Standard library only (runs with .venv-st's python; grant-scope runs with the repo venv's).
The moto endpoint and stage come from --endpoint/--stage, by default PETTY_MOTO_URL and
PETTY_STACK_STAGE (tools/with_stack.sh exports them).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone

from loadlib import Operator

PASSWORD = "contract-fuzzing-password-2026"
COLLAR = "ST-000001"
SPARE_COLLAR = "ST-000002"
# Its timeline event takes the feedback; the fuzzer never ingests for it, so the event stays.
FEEDBACK_COLLAR = "ST-000003"


def call(api: str, method: str, path: str, body=None, token=None, api_key=None) -> tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(api + path, data=data, method=method)
    if data is not None:
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    if api_key:
        req.add_header("x-api-key", api_key)
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            status, text = resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    return status, (json.loads(text) if text else None)


def expect(what: str, got: tuple[int, object], *statuses: int):
    status, body = got
    if status not in statuses:
        sys.exit(f"st_seed: {what}: HTTP {status}, expected {statuses}: {body}")
    return body


def reading(collar: str, at: datetime, heart_rate: int, activity: int) -> dict:
    return {
        "collar_id": collar,
        "timestamp": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "heart_rate": heart_rate,
        "activity_level": activity,
        "location": {"type": "Point", "coordinates": [-74.006, 40.7128]},
        "temperature_c": 38.4,
        "battery_pct": 80,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--api", required=True)
    p.add_argument("--endpoint", default=os.environ.get("PETTY_MOTO_URL"), help="moto (default PETTY_MOTO_URL)")
    p.add_argument("--stage", default=os.environ.get("PETTY_STACK_STAGE"), help="default PETTY_STACK_STAGE")
    args = p.parse_args()
    api = args.api.rstrip("/")
    if not args.endpoint or not args.stage:
        sys.exit("st_seed: no moto endpoint or stage (--endpoint/--stage, or run through tools/with_stack.sh)")

    operator_email = f"contract-ops-{uuid.uuid4().hex[:12]}@petty.local"
    operator = Operator(lambda method, path, body=None, token=None: call(api, method, path, body, token),
                        endpoint=args.endpoint, stage=args.stage, email=operator_email, password=PASSWORD)

    email = f"contract-{uuid.uuid4().hex[:12]}@petty.local"
    expect("register", call(api, "POST", "/v1/auth/register", {"email": email, "password": PASSWORD, "name": "St"}), 201)
    creds = {"email": email, "password": PASSWORD}
    tokens = expect("login", call(api, "POST", "/v1/auth/login", creds), 200)
    spare = expect("second login", call(api, "POST", "/v1/auth/login", creds), 200)
    token = tokens["access_token"]

    # The spec's examples name ST-000001; on a stack where another run claimed it, fresh ids.
    # Each collar registered by the operator first, then claimed with its code.
    collars, codes = [], {}
    for collar, name in ((COLLAR, "Rex"), (SPARE_COLLAR, "Tom"), (FEEDBACK_COLLAR, "Bo")):
        pet = {"name": name, "species": "dog", "weight_kg": 18, "breed": "beagle", "activity_profile": "typical"}
        for _ in range(3):
            code = operator.register([collar])[collar]
            got = call(api, "POST", "/v1/collars", {"collar_id": collar, "claim_code": code, "pet": pet}, token)
            if got[0] != 404:  # 404: someone else's collar
                break
            collar = f"ST-{uuid.uuid4().int % 1_000_000:06d}"
        expect(f"claim {collar}", got, 201)
        collars.append(collar)
        codes[collar] = code
    collar, spare_collar, feedback_collar = collars
    # Registered, never claimed: where the fuzzer's claim-code resets go.
    unclaimed = f"ST-{uuid.uuid4().int % 1_000_000:06d}"
    operator.register([unclaimed])

    key = expect(
        "API key",
        call(api, "POST", "/v1/api-keys", {"name": "contract", "scopes": ["readings:read", "readings:write", "timeline:read"], "collar_ids": [collar]}, token),
        201,
    )
    spare_key = expect("spare API key", call(api, "POST", "/v1/api-keys", {"name": "spare", "scopes": ["readings:read"]}, token), 201)

    # Ten minutes of readings up to now, every 10 s: enough for a timeline episode.
    now = datetime.now(timezone.utc).replace(microsecond=0)
    batch = [reading(collar, now - timedelta(seconds=10 * i), 80 + i % 7, 0) for i in range(60, 0, -1)]
    report = expect("ingest", call(api, "POST", "/v1/ingest", {"readings": batch}, api_key=key["api_key"]), 200)
    if report["accepted"] != len(batch):
        sys.exit(f"st_seed: ingest stored {report['accepted']} of {len(batch)}: {report}")

    batch = [reading(feedback_collar, now - timedelta(seconds=10 * i), 80 + i % 7, 0) for i in range(60, 0, -1)]
    expect("ingest (feedback collar)", call(api, "POST", "/v1/ingest", {"readings": batch}, token), 200)
    query = urllib.parse.urlencode({"collar_id": feedback_collar})
    timeline = expect("timeline", call(api, "GET", f"/v1/pet-timeline?{query}", token=token), 200)
    events = [e["event_id"] for e in timeline["timeline"] if e["behavior"] != "no_data"]
    if not events:
        sys.exit(f"st_seed: the timeline has no event to give feedback on: {timeline}")

    out = {
        "PETTY_ST_TOKEN": token,
        "PETTY_ST_SPARE_TOKEN": spare["access_token"],
        "PETTY_ST_API_KEY": key["api_key"],
        "PETTY_ST_KEY_ID": key["key_id"],
        "PETTY_ST_SPARE_KEY_ID": spare_key["key_id"],
        "PETTY_ST_COLLAR": collar,
        "PETTY_ST_CLAIM_CODE": codes[collar],
        "PETTY_ST_SPARE_COLLAR": spare_collar,
        "PETTY_ST_SPARE_CLAIM_CODE": codes[spare_collar],
        "PETTY_ST_UNCLAIMED_COLLAR": unclaimed,
        "PETTY_ST_ADMIN_TOKEN": operator.token(),
        "PETTY_ST_ADMIN_EMAIL": operator_email,
        "PETTY_ST_EVENT_ID": events[0],
        "PETTY_ST_EMAIL": email,
        "PETTY_ST_PASSWORD": PASSWORD,
        "PETTY_ST_SEEDED_AT": str(int(time.time())),
    }
    for name, value in out.items():
        print(f"export {name}={shlex.quote(value)}")


if __name__ == "__main__":
    main()
