#!/usr/bin/env python3
"""A stand-in OTLP/HTTP collector on 127.0.0.1 for the failure and protocol
tests of tests/fleet/run.sh (standard library only).

  collector.py PORTFILE DIR MODE

MODE: "ok" (200), "refuse" (400 with an error body), "flaky" (503 with
Retry-After: 0 to the first request, 200 after), "slow" (sleeps 5 s before
answering), "partial" (200 with a partial success that rejected 2 spans, in
the request's encoding). Every request is saved as DIR/req-N.body (gunzip'ed when it
says Content-Encoding: gzip) and DIR/req-N.headers (path and headers). It
binds port 0 and writes the port it got to PORTFILE.
"""
import gzip
import http.server
import os
import sys
import time

portfile, out, mode = sys.argv[1], sys.argv[2], sys.argv[3]
count = [0]


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(n)
        count[0] += 1
        k = count[0]
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        with open(os.path.join(out, "req-%d.body" % k), "wb") as f:
            f.write(body)
        with open(os.path.join(out, "req-%d.headers" % k), "w") as f:
            f.write("path: %s\n" % self.path)
            for key, v in self.headers.items():
                f.write("%s: %s\n" % (key.lower(), v))
        code, extra, reply = 200, {}, b"{}"
        if mode == "refuse":
            code, reply = 400, b'{"code":3,"message":"invalid trace: test collector refuses everything"}'
        elif mode == "flaky" and k == 1:
            code, extra, reply = 503, {"Retry-After": "0"}, b'{"message":"busy"}'
        elif mode == "partial":
            if self.headers.get("Content-Type") == "application/json":
                reply = b'{"partialSuccess":{"rejectedSpans":"2","errorMessage":"2 spans too old"}}'
            else:
                msg = b"2 spans too old"
                inner = b"\x08\x02\x12" + bytes([len(msg)]) + msg
                reply = b"\x0a" + bytes([len(inner)]) + inner
                extra = {"X-Reply": "protobuf"}
        elif mode == "slow":
            time.sleep(5)
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        for key, v in extra.items():
            self.send_header(key, v)
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *a):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
