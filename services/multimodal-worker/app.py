"""multimodal-worker: runs multimodal (text + image) jobs against the LiteLLM gateway.

GET  /health   liveness (always 200 while the process serves)
GET  /info     the upstreams this worker is configured with (no secrets)
POST /jobs     {"prompt": "...", "image_url": "optional http(s) or data: URL"}
               -> forwards one chat completion to LiteLLM and returns its answer

Standard library only, so the image stays tiny and needs no package index.
"""

import json
import logging
import os
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LITELLM_URL = os.environ.get("LITELLM_URL", "http://litellm:4000").rstrip("/")
LITELLM_API_KEY = os.environ.get("LITELLM_API_KEY", "")
MODEL = os.environ.get("WORKER_MODEL", "local-llm")
MINIO_ENDPOINT = os.environ.get("MINIO_ENDPOINT", "http://minio:9000")
MINIO_BUCKET = os.environ.get("MINIO_BUCKET", "uploads")
REDIS_HOST = os.environ.get("REDIS_HOST", "redis")
PORT = int(os.environ.get("PORT", "8080"))
TIMEOUT = float(os.environ.get("UPSTREAM_TIMEOUT_SECONDS", "120"))

logging.basicConfig(
    level=os.environ.get("LOG_LEVEL", "info").upper(),
    format="%(asctime)s %(levelname)s multimodal-worker %(message)s",
)
log = logging.getLogger("multimodal-worker")


def run_job(job):
    content = [{"type": "text", "text": str(job.get("prompt", ""))}]
    if job.get("image_url"):
        content.append({"type": "image_url", "image_url": {"url": job["image_url"]}})
    payload = {"model": job.get("model", MODEL), "messages": [{"role": "user", "content": content}]}
    req = urllib.request.Request(
        LITELLM_URL + "/v1/chat/completions",
        data=json.dumps(payload).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": "Bearer " + LITELLM_API_KEY},
    )
    with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
        answer = json.load(resp)
    return {"model": answer.get("model"), "output": answer["choices"][0]["message"]["content"]}


class Handler(BaseHTTPRequestHandler):
    server_version = "multimodal-worker/0.1"

    def _send(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/health":
            self._send(200, {"status": "ok", "service": "multimodal-worker"})
        elif self.path == "/info":
            self._send(200, {
                "litellm": LITELLM_URL,
                "model": MODEL,
                "minio": MINIO_ENDPOINT,
                "bucket": MINIO_BUCKET,
                "redis": REDIS_HOST,
            })
        else:
            self._send(404, {"error": "not found", "path": self.path})

    def do_POST(self):
        if self.path != "/jobs":
            self._send(404, {"error": "not found", "path": self.path})
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
            job = json.loads(self.rfile.read(length) or b"{}")
        except ValueError as err:
            self._send(400, {"error": "invalid JSON", "detail": str(err)})
            return
        try:
            self._send(200, run_job(job))
        except urllib.error.HTTPError as err:
            self._send(502, {"error": "litellm returned %d" % err.code, "detail": err.read().decode(errors="replace")})
        except (urllib.error.URLError, OSError, KeyError, ValueError) as err:
            self._send(502, {"error": "litellm call failed", "detail": str(err)})

    def log_message(self, fmt, *args):
        if self.path != "/health":
            log.info("%s %s", self.address_string(), fmt % args)


if __name__ == "__main__":
    log.info("listening on :%d, litellm at %s, model %s", PORT, LITELLM_URL, MODEL)
    ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()
