#!/usr/bin/env python3
"""A local HTTP receiver for the tests: accepts POST <path> (default /v1/traces, an OTLP collector's; `launch watch
--webhook` tests give their own), keeps each body as <dir>/<n>.json and answers 200 with `{}` (an empty
ExportTraceServiceResponse). Writes the port it listens on to <dir>/port once ready."""
import http.server
import os
import sys

directory = sys.argv[1]
path = sys.argv[2] if len(sys.argv) > 2 else "/v1/traces"
count = 0


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global count
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path != path or self.headers.get("Content-Type") != "application/json":
            self.send_response(404)
            self.end_headers()
            return
        count += 1
        with open(os.path.join(directory, "%d.tmp" % count), "wb") as out:
            out.write(body)
        os.rename(os.path.join(directory, "%d.tmp" % count), os.path.join(directory, "%06d.json" % count))
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
