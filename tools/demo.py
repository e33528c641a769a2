"""Loads `make dev`'s demo: an owner, a collar, and one simulated day of readings, through the
local API (register, login, claim, API key, ingest), then prints how to see its timeline.

The day is yesterday (UTC), produced by the Rust simulator (`--example simulate`). A collar's
owner only sees readings from after the claim, so the demo backdates its claim in the local
moto by two days: the only write made around the API, and only ever on the local stack.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

EMAIL = "demo@petty.local"
PASSWORD = "demo-password-petty-2026"
COLLAR = "DM-000001"


def call(api: str, method: str, path: str, body=None, headers=None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(api + path, data=data, method=method)
    req.add_header("content-type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            text = resp.read().decode() or "null"
            return resp.status, json.loads(text)
    except urllib.error.HTTPError as e:
        text = e.read().decode() or "null"
        return e.code, json.loads(text)


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


def backdate_claim(endpoint: str, table: str, days: int) -> None:
    import boto3

    ddb = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    at = int(time.time()) - days * 86_400
    ddb.update_item(
        TableName=table,
        Key={"collar_id": {"S": COLLAR}},
        UpdateExpression="SET created_at = :t",
        ExpressionAttributeValues={":t": {"N": str(at)}},
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--api", required=True)
    p.add_argument("--endpoint", required=True, help="moto, for the claim's backdating")
    p.add_argument("--collars-table", required=True)
    p.add_argument("--wait", type=int, default=900)
    args = p.parse_args()

    wait_for(args.api, args.wait)
    creds = {"email": EMAIL, "password": PASSWORD}
    status, body = call(args.api, "POST", "/v1/auth/register", {**creds, "name": "Demo Owner"})
    if status not in (201, 409):
        sys.exit(f"demo: register answered {status}: {body}")
    status, body = call(args.api, "POST", "/v1/auth/login", creds)
    if status != 200:
        sys.exit(f"demo: login answered {status}: {body}")
    bearer = {"authorization": f"Bearer {body['access_token']}"}
    pet = {"name": "Biscuit", "species": "dog", "breed": "Beagle", "birth_date": "2021-04-12", "weight_kg": 18.0}
    status, body = call(args.api, "POST", "/v1/collars", {"collar_id": COLLAR, "pet": pet}, bearer)
    if status not in (200, 201):
        sys.exit(f"demo: claim answered {status}: {body}")
    backdate_claim(args.endpoint, args.collars_table, 2)
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
    readings = [json.loads(line) for line in lines]
    accepted = duplicates = 0
    for i in range(0, len(readings), 500):
        status, body = call(args.api, "POST", "/v1/ingest", {"readings": readings[i:i + 500]}, collar_key)
        if status != 200:
            sys.exit(f"demo: ingest answered {status}: {body}")
        accepted += body["accepted"]
        duplicates += body["duplicates"]
    api = "" if args.api == "http://127.0.0.1:9000" else f" --api {args.api}"
    print(f"""
Demo loaded: {EMAIL} / {PASSWORD} owns collar {COLLAR} (Biscuit); {day}: {accepted} readings stored, {duplicates} duplicate deliveries ignored.
See its day with the petty CLI (`cargo install --path clients/petty-cli`, or `cargo run -q -p petty-cli --` in place of `petty`):
  PETTY_PASSWORD='{PASSWORD}' petty{api} login --email {EMAIL}
  petty{api} timeline {COLLAR} --day {day}
  petty{api} plan {COLLAR}
(Against moto a day's timeline takes 6-10 s: moto serves ~1,000-1,400 items/s.)
""", flush=True)


if __name__ == "__main__":
    main()
