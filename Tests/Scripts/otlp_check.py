#!/usr/bin/env python3
"""Checks an OTLP/JSON ExportTraceServiceRequest with the OpenTelemetry protobuf definitions (the
opentelemetry-proto package) and prints a summary of its spans as JSON for the test to read.

OTLP/JSON differs from protobuf's own JSON mapping in one way: trace and span ids are hex, not base64. They are
checked as hex and converted, as a collector does, before the strict parse (unknown fields are errors)."""
import base64
import json
import re
import sys

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

HEX = {"traceId": 32, "spanId": 16, "parentSpanId": 16}


def convert(node):
    if isinstance(node, dict):
        for key, value in list(node.items()):
            if key in HEX and isinstance(value, str) and value != "":
                if not re.fullmatch("[0-9a-f]{%d}" % HEX[key], value):
                    raise SystemExit("%s is not %d lower-case hex digits: %r" % (key, HEX[key], value))
                node[key] = base64.b64encode(bytes.fromhex(value)).decode()
            else:
                convert(value)
    elif isinstance(node, list):
        for item in node:
            convert(item)
    return node


document = convert(json.load(open(sys.argv[1])))
request = json_format.ParseDict(document, trace_service_pb2.ExportTraceServiceRequest(), ignore_unknown_fields=False)
spans = []
for resource in request.resource_spans:
    for scope in resource.scope_spans:
        for span in scope.spans:
            assert len(span.trace_id) == 16 and len(span.span_id) == 8, span.name
            assert span.end_time_unix_nano >= span.start_time_unix_nano > 0, span.name
            spans.append({
                "name": span.name,
                "span_id": span.span_id.hex(),
                "parent": span.parent_span_id.hex(),
                "trace_id": span.trace_id.hex(),
                "error": span.status.code == 2,
                "attributes": {a.key: json_format.MessageToDict(a.value) for a in span.attributes},
            })
ids = {span["span_id"] for span in spans}
assert len(ids) == len(spans), "two spans share an id"
# OTLP/JSON writes 64-bit integers as decimal strings; protobuf's parser would also take numbers.
for raw in (s for r in document["resourceSpans"] for ss in r["scopeSpans"] for s in ss["spans"]):
    for key in ("startTimeUnixNano", "endTimeUnixNano"):
        assert isinstance(raw[key], str) and raw[key].isdigit(), "%s of %s is not a decimal string" % (key, raw["name"])
for span in spans:
    assert span["parent"] == "" or span["parent"] in ids, "parent of %s is not in the trace" % span["name"]
print(json.dumps({"spans": spans}))
