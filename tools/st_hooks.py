"""Schemathesis hooks for tools/fuzz_api.sh (loaded through SCHEMATHESIS_HOOKS).

Credentials come from tools/st_seed.py (PETTY_ST_* variables): a real owner, collars with
their claim codes, an API key, a timeline event and an operator (`admin` scope) on the local
stack.

- Auth follows each operation's `security` in openapi.yaml: no credentials where it is empty,
  the bearer token where only bearerAuth is listed, and either the bearer token or the API key
  (about one request in three) where both are. The operators' routes (/v1/admin/...) get the
  operator's token (one request in five the owner's, which is refused: 403).
- Fuzzing rarely guesses a real collar id, key id or event id, so some generated values are
  swapped for the seeded ones: the happy paths run too, not only the 404s. A claim
  (POST /v1/collars) swapped to a seeded collar carries that collar's real claim code (the
  shared collar: 200, already the owner's; the spare one: 201 again after the fuzzer released
  it). Claim-code resets go to a collar registered for them that nobody claims, so the seeded
  codes stay valid.
- Operations that would end the shared credentials get spare ones instead: logout ends the
  spare session (PETTY_ST_SPARE_TOKEN), DELETE /v1/api-keys/{key_id} may revoke the spare key,
  DELETE /v1/collars/{collar_id} may release the spare collar. After the first such call they
  answer 401/404, which the spec documents. No valid refresh token is ever sent: rotating the
  seeded one would revoke the shared session on its reuse.
- Narrowed, locally only: request bodies that are not UTF-8 are re-encoded (cargo lambda watch,
  the local emulator, answers them with its own 500 before any function runs), and, in the
  bounded run, the known server bugs below are stepped around.
"""

from __future__ import annotations

import atexit
import json
import os
import random
import threading
import time
import urllib.request
from datetime import datetime, timedelta, timezone

import schemathesis

API = os.environ["PETTY_API_URL"].rstrip("/")
EMAIL = os.environ["PETTY_ST_EMAIL"]
PASSWORD = os.environ["PETTY_ST_PASSWORD"]
API_KEY = os.environ["PETTY_ST_API_KEY"]
KEY_ID = os.environ["PETTY_ST_KEY_ID"]
SPARE_KEY_ID = os.environ["PETTY_ST_SPARE_KEY_ID"]
COLLAR = os.environ["PETTY_ST_COLLAR"]
SPARE_COLLAR = os.environ["PETTY_ST_SPARE_COLLAR"]
CLAIM_CODES = {COLLAR: os.environ["PETTY_ST_CLAIM_CODE"], SPARE_COLLAR: os.environ["PETTY_ST_SPARE_CLAIM_CODE"]}
UNCLAIMED_COLLAR = os.environ["PETTY_ST_UNCLAIMED_COLLAR"]
ADMIN_EMAIL = os.environ["PETTY_ST_ADMIN_EMAIL"]
EVENT_ID = os.environ["PETTY_ST_EVENT_ID"]

# How often a generated id is replaced by the seeded one.
REAL = float(os.environ.get("PETTY_ST_REAL_SHARE", "0.5"))
# Our own generator: Hypothesis warns about the global `random` inside its strategies.
rng = random.Random(os.environ.get("PETTY_ST_SEED"))


def _schemes(operation) -> set[str]:
    security = operation.definition.raw.get("security", [])
    return {name for requirement in security for name in requirement}


def _key(operation) -> str:
    return f"{operation.method.upper()} {operation.path}"


# Access tokens live 15 minutes: a long run logs in again after 10.
TOKEN_REUSE_S = 600
_tokens = {"main": os.environ["PETTY_ST_TOKEN"], "spare": os.environ["PETTY_ST_SPARE_TOKEN"],
           "admin": os.environ["PETTY_ST_ADMIN_TOKEN"]}
_issued = float(os.environ.get("PETTY_ST_SEEDED_AT", time.time()))
_lock = threading.Lock()


def _login(email: str = EMAIL) -> str:
    body = json.dumps({"email": email, "password": PASSWORD}).encode()
    req = urllib.request.Request(API + "/v1/auth/login", data=body, method="POST")
    req.add_header("content-type", "application/json")
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())["access_token"]


def _current_tokens() -> dict[str, str]:
    global _issued
    with _lock:
        if time.time() - _issued > TOKEN_REUSE_S:
            _tokens["main"], _tokens["spare"], _tokens["admin"] = _login(), _login(), _login(ADMIN_EMAIL)
            _issued = time.time()
        return dict(_tokens)


@schemathesis.auth(refresh_interval=None, retry_on=[])
class PettyAuth:
    """The seeded credentials, chosen per operation from its security requirements."""

    def get(self, case, ctx):
        return _current_tokens()

    def set(self, case, data, ctx):
        schemes = _schemes(case.operation)
        headers = case.headers if case.headers is not None else {}
        for name in list(headers):
            if name.lower() in ("authorization", "x-api-key"):
                del headers[name]
        if _key(case.operation) == "POST /v1/auth/logout":
            headers["Authorization"] = f"Bearer {data['spare']}"
        elif case.operation.path.startswith("/v1/admin/") and "bearerAuth" in schemes:
            headers["Authorization"] = f"Bearer {data['admin'] if rng.random() < 0.8 else data['main']}"
        elif "apiKeyAuth" in schemes and ("bearerAuth" not in schemes or rng.random() < 0.35):
            headers["X-Api-Key"] = API_KEY
        elif "bearerAuth" in schemes:
            headers["Authorization"] = f"Bearer {data['main']}"
        case.headers = headers


def _now_ts(max_age_s: int = 240) -> str:
    at = datetime.now(timezone.utc) - timedelta(seconds=rng.randint(0, max_age_s), milliseconds=rng.randint(0, 999))
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@schemathesis.hook
def map_query(ctx, query):
    if not isinstance(query, dict):
        return query
    if "collar_id" in query and rng.random() < REAL:
        query["collar_id"] = COLLAR
        # Random windows are mostly refused (from after to, longer than allowed): drop them
        # now and then so the default window runs too.
        if rng.random() < 0.5:
            for name in ("from", "to", "cursor"):
                query.pop(name, None)
    return query


@schemathesis.hook
def map_path_parameters(ctx, path_parameters):
    if not isinstance(path_parameters, dict) or ctx.operation is None:
        return path_parameters
    method = ctx.operation.method.upper()
    if "collar_id" in path_parameters and ctx.operation.path.startswith("/v1/admin/"):
        # Claim-code resets: never the seeded collars' codes (the claims below send them).
        if path_parameters["collar_id"] in CLAIM_CODES or rng.random() < REAL:
            path_parameters["collar_id"] = UNCLAIMED_COLLAR
    elif "collar_id" in path_parameters:
        if method == "DELETE":
            # Never release the shared collar (the spec's examples name it).
            if path_parameters["collar_id"] == COLLAR or rng.random() < REAL:
                path_parameters["collar_id"] = SPARE_COLLAR
        elif rng.random() < REAL:
            path_parameters["collar_id"] = COLLAR
    if "key_id" in path_parameters:
        if path_parameters["key_id"] == KEY_ID or rng.random() < REAL:
            path_parameters["key_id"] = SPARE_KEY_ID
    return path_parameters


def _real_reading(reading):
    if isinstance(reading, dict) and rng.random() < REAL:
        reading["collar_id"] = COLLAR
        reading["timestamp"] = _now_ts()
    return reading


@schemathesis.hook
def map_body(ctx, body):
    # Bodies that are not UTF-8 under a JSON content type never reach a function locally:
    # `cargo lambda watch` (the emulator) answers them with its own bare 500. Such bodies are
    # sent as valid UTF-8 instead (the bytes that are not become U+FFFD).
    if isinstance(body, (bytes, bytearray)):
        try:
            bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            return bytes(body).decode("utf-8", "replace").encode("utf-8")
        return body
    if ctx.operation is None:
        return body
    key = _key(ctx.operation)
    if key == "POST /v1/ingest":
        if isinstance(body, dict) and isinstance(body.get("readings"), list):
            body["readings"] = [_real_reading(r) for r in body["readings"]]
        else:
            body = _real_reading(body)
    elif key == "POST /v1/submit-feedback" and isinstance(body, dict) and rng.random() < REAL:
        body["event_id"] = EVENT_ID
        if body.get("timestamp") is not None:
            body["timestamp"] = _now_ts()
    elif key == "POST /v1/collars" and isinstance(body, dict) and rng.random() < REAL:
        # A seeded collar with its real code: the shared one (200, already the owner's) or the
        # spare one (201 again once the fuzzer released it).
        collar = COLLAR if rng.random() < 0.5 else SPARE_COLLAR
        body.update(collar_id=collar, claim_code=CLAIM_CODES[collar])
    elif key == "POST /v1/auth/login" and isinstance(body, dict) and rng.random() < 0.25:
        # The seeded owner's own credentials, both at once (a wrong password would count
        # towards the owner's lockout).
        body.update(email=EMAIL, password=PASSWORD)
    elif key == "POST /v1/api-keys" and isinstance(body, dict) and isinstance(body.get("collar_ids"), list):
        if rng.random() < REAL:
            body["collar_ids"] = [COLLAR]
    return body


@schemathesis.hook
def before_call(ctx, case, kwargs):
    # The same for bodies serialized past map_body (raw bytes of negative cases).
    data = kwargs.get("data")
    if isinstance(data, (bytes, bytearray)):
        try:
            bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            kwargs["data"] = bytes(data).decode("utf-8", "replace").encode("utf-8")


# Status codes per operation, written at exit for fuzz_api.sh's summary (did the happy paths run?).
_tally: dict[str, dict[int, int]] = {}
_tally_lock = threading.Lock()


@schemathesis.hook
def after_call(ctx, case, response):
    method = response.request.method.upper()
    # The coverage phase also sends methods a path does not document (404 locally).
    key = _key(case.operation) if method == case.operation.method.upper() else "(undocumented methods)"
    with _tally_lock:
        by_status = _tally.setdefault(key, {})
        by_status[response.status_code] = by_status.get(response.status_code, 0) + 1


def _write_tally():
    path = os.environ.get("PETTY_ST_TALLY")
    if path:
        with open(path, "w") as f:
            json.dump(_tally, f, indent=1, sort_keys=True)


atexit.register(_write_tally)
