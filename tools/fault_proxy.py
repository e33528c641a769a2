#!/usr/bin/env python3
"""A fault-injecting HTTP proxy between the functions and moto, for the fault tests.

    fault_proxy.py --port P --upstream http://127.0.0.1:M --control-port C

Forwards every request on 127.0.0.1:P to the upstream unchanged (moto does not check SigV4,
so the Host the SDK signed passes through as is). A control API on 127.0.0.1:C injects faults:

    GET  /state                      counters and the current mode, as JSON
    POST /down                       stop listening and drop every open connection
                                     (the functions see "connection refused", as if moto died)
    POST /up                         listen again on the same port
    POST /throttle?count=N[&op=X]    answer the next N DynamoDB requests (optionally only
                                     operation X, e.g. BatchWriteItem) with a
                                     ProvisionedThroughputExceededException, as DynamoDB does
    POST /pass                       clear any pending throttles

Loopback only; stops with SIGTERM. Standard library only.
"""
from __future__ import annotations

import argparse
import http.client
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"}
THROTTLE_BODY = json.dumps({
    "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
    "message": "The level of configured provisioned throughput for the table was exceeded (fault_proxy)",
}).encode()


class State:
    """What the control API changes and reports; one lock guards it all."""

    def __init__(self, upstream: str):
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.lock = threading.Lock()
        self.throttle_left = 0
        self.throttle_op: str | None = None
        self.counts = {"forwarded": 0, "throttled": 0, "upstream_errors": 0, "downs": 0, "ups": 0}
        self.listening = True
        self.sockets: set[socket.socket] = set()

    def take_throttle(self, target: str) -> bool:
        """Whether this request (by its X-Amz-Target) is to be throttled; counts it if so."""
        if not target.startswith("DynamoDB_20120810."):
            return False
        with self.lock:
            if self.throttle_left <= 0:
                return False
            if self.throttle_op and target.split(".", 1)[1] != self.throttle_op:
                return False
            self.throttle_left -= 1
            self.counts["throttled"] += 1
            return True

    def bump(self, key: str) -> None:
        with self.lock:
            self.counts[key] += 1

    def snapshot(self) -> dict:
        with self.lock:
            return {**self.counts, "listening": self.listening, "throttle_left": self.throttle_left,
                    "throttle_op": self.throttle_op}


def proxy_handler(state: State):
    class Proxy(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):
            super().setup()
            with state.lock:
                state.sockets.add(self.connection)

        def finish(self):
            try:
                super().finish()
            finally:
                with state.lock:
                    state.sockets.discard(self.connection)

        def log_message(self, *args):  # quiet: the counters say what happened
            pass

        def _forward(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if state.take_throttle(self.headers.get("X-Amz-Target", "")):
                return self._reply(400, [("Content-Type", "application/x-amz-json-1.0")], THROTTLE_BODY)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            try:
                conn = http.client.HTTPConnection(*state.upstream, timeout=30)
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                conn.close()
            except OSError:
                # Upstream unreachable: drop the connection, as a dead endpoint would.
                state.bump("upstream_errors")
                self.close_connection = True
                return
            state.bump("forwarded")
            out = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"]
            self._reply(resp.status, out, data)

        def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes):
            self.send_response_only(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _forward

    return Proxy


class DataPlane:
    """The proxy's listener, which the control API can stop and start on the same port."""

    def __init__(self, port: int, state: State):
        self.port, self.state = port, state
        self.server: ThreadingHTTPServer | None = None
        self.start()

    def start(self):
        ThreadingHTTPServer.allow_reuse_address = True
        ThreadingHTTPServer.daemon_threads = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), proxy_handler(self.state))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        with self.state.lock:
            self.state.listening = True

    def stop(self):
        if self.server is None:
            return
        self.server.shutdown()
        self.server.server_close()
        self.server = None
        with self.state.lock:
            self.state.listening = False
            open_sockets = list(self.state.sockets)
        for sock in open_sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def control_handler(state: State, plane: DataPlane):
    class Control(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _json(self, status: int, payload: dict):
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if urlsplit(self.path).path == "/state":
                return self._json(200, state.snapshot())
            self._json(404, {"error": "unknown control path"})

        def do_POST(self):
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            if url.path == "/down":
                plane.stop()
                state.bump("downs")
            elif url.path == "/up":
                if plane.server is None:
                    plane.start()
                    state.bump("ups")
            elif url.path == "/throttle":
                with state.lock:
                    state.throttle_left = int(query.get("count", ["1"])[0])
                    state.throttle_op = query.get("op", [None])[0]
            elif url.path == "/pass":
                with state.lock:
                    state.throttle_left, state.throttle_op = 0, None
            else:
                return self._json(404, {"error": "unknown control path"})
            self._json(200, state.snapshot())

    return Control


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--control-port", type=int, required=True)
    args = parser.parse_args()
    state = State(args.upstream)
    plane = DataPlane(args.port, state)
    control = ThreadingHTTPServer(("127.0.0.1", args.control_port), control_handler(state, plane))
    print(f"fault proxy 127.0.0.1:{args.port} -> {args.upstream}; control 127.0.0.1:{args.control_port}", flush=True)
    control.serve_forever()


if __name__ == "__main__":
    main()
