"""retrieval-proxy: a small HTTP front for Qdrant.

GET  /health             liveness (always 200 while the process serves)
GET  /ready              200 when Qdrant answers /readyz, 503 otherwise
*    /collections/...    forwarded to Qdrant unchanged (GET, POST, PUT, DELETE)

Standard library only, so the image stays tiny and needs no package index.
"""

import json
import logging
import os
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

QDRANT_URL = os.environ.get("QDRANT_URL", "http://qdrant:6333").rstrip("/")
QDRANT_API_KEY = os.environ.get("QDRANT_API_KEY", "")
PORT = int(os.environ.get("PORT", "8080"))
TIMEOUT = float(os.environ.get("UPSTREAM_TIMEOUT_SECONDS", "30"))

logging.basicConfig(
    level=os.environ.get("LOG_LEVEL", "info").upper(),
    format="%(asctime)s %(levelname)s retrieval-proxy %(message)s",
)
log = logging.getLogger("retrieval-proxy")


def qdrant(method, path, body=None, headers=None):
    """Call Qdrant; return (status, content-type, body bytes)."""
    req = urllib.request.Request(QDRANT_URL + path, data=body, method=method)
    for key, value in (headers or {}).items():
        req.add_header(key, value)
    if QDRANT_API_KEY:
        req.add_header("api-key", QDRANT_API_KEY)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
            return resp.status, resp.headers.get("Content-Type", "application/json"), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type", "application/json"), err.read()


class Handler(BaseHTTPRequestHandler):
    server_version = "retrieval-proxy/0.1"

    def _send(self, status, payload, content_type="application/json"):
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _forward(self):
        if not self.path.startswith("/collections"):
            self._send(404, {"error": "not found", "path": self.path})
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        try:
            status, ctype, data = qdrant(
                self.command, self.path, body, {"Content-Type": "application/json"} if body else None
            )
        except (urllib.error.URLError, OSError) as err:
            self._send(502, {"error": "qdrant unreachable", "detail": str(err)})
            return
        self._send(status, data, ctype)

    def do_GET(self):
        if self.path == "/health":
            self._send(200, {"status": "ok", "service": "retrieval-proxy"})
        elif self.path == "/ready":
            try:
                status, _, _ = qdrant("GET", "/readyz")
            except (urllib.error.URLError, OSError) as err:
                self._send(503, {"status": "unavailable", "qdrant": str(err)})
                return
            self._send(200 if status == 200 else 503, {"status": "ready" if status == 200 else "unavailable"})
        else:
            self._forward()

    do_POST = _forward
    do_PUT = _forward
    do_DELETE = _forward

    def log_message(self, fmt, *args):
        if self.path not in ("/health", "/ready"):
            log.info("%s %s", self.address_string(), fmt % args)


if __name__ == "__main__":
    log.info("listening on :%d, qdrant at %s", PORT, QDRANT_URL)
    ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()
