"""A loopback HTTP proxy in front of moto that answers some requests with AWS errors
(access denied, throttling, region not enabled), so botocore's real retry and error parsing
run against them."""

from __future__ import annotations

import http.client
import re
import threading
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_CRED_RE = re.compile(r"Credential=[^/]+/\d+/([^/]+)/([^/]+)/aws4_request")
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "host", "content-length"}


@dataclass
class Request:
    method: str
    path: str
    region: str
    service: str
    action: str
    body: bytes


Rule = Callable[[Request], "tuple[int, str] | None"]  # (status, error code) or pass through


def ec2_error(code: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Response><Errors><Error><Code>{code}</Code><Message>{code} (injected)</Message>"
        "</Error></Errors><RequestID>00000000-0000-0000-0000-000000000000</RequestID></Response>"
    ).encode()


def query_error(code: str) -> bytes:
    return (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
        f"<Type>Sender</Type><Code>{code}</Code><Message>{code} (injected)</Message></Error>"
        "<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
    ).encode()


class FaultProxy:
    def __init__(self, upstream: str, rule: Rule) -> None:
        parsed = urllib.parse.urlsplit(upstream)
        self.upstream = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self.rule = rule
        self.seen: Counter[str] = Counter()  # action → requests received
        self.injected: Counter[str] = Counter()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                match = _CRED_RE.search(self.headers.get("Authorization", ""))
                region, service = match.groups() if match else ("", "")
                action = ""
                if body and b"Action=" in body:
                    action = urllib.parse.parse_qs(body.decode()).get("Action", [""])[0]
                elif self.headers.get("X-Amz-Target"):
                    action = self.headers["X-Amz-Target"].rsplit(".", 1)[-1]
                request = Request(self.command, self.path, region, service, action, body)
                key = f"{service}:{action}@{region}"
                proxy.seen[key] += 1
                verdict = proxy.rule(request)
                if verdict is not None:
                    status, code = verdict
                    proxy.injected[key] += 1
                    payload = ec2_error(code) if service == "ec2" else query_error(code)
                    self.send_response(status)
                    self.send_header("Content-Type", "text/xml")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                conn = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
                headers["Host"] = f"{proxy.upstream[0]}:{proxy.upstream[1]}"
                conn.request(self.command, self.path, body=body or None, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                for name, value in resp.getheaders():
                    if name.lower() not in HOP_HEADERS:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
