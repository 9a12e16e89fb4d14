#!/usr/bin/env python3
"""A local OTLP/HTTP receiver for the tests: accepts POST /v1/traces, keeps each body as <dir>/<n>.json and answers
200 with an empty ExportTraceServiceResponse. Writes the port it listens on to <dir>/port once ready."""
import http.server
import os
import sys

directory = sys.argv[1]
count = 0


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global count
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path != "/v1/traces" or self.headers.get("Content-Type") != "application/json":
            self.send_response(404)
            self.end_headers()
            return
        count += 1
        with open(os.path.join(directory, "%d.json" % count), "wb") as out:
            out.write(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(os.path.join(directory, "port.tmp"), "w") as out:
    out.write(str(server.server_address[1]))
os.rename(os.path.join(directory, "port.tmp"), os.path.join(directory, "port"))
server.serve_forever()
