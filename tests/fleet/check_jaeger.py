#!/usr/bin/env python3
"""Assert what Jaeger's query API gives back for a build layerprof sent.

  check_jaeger.py QUERY_URL SERVICE EXPECT.json

EXPECT.json (written by tests/fleet/run.sh from `layerprof report --json`):
  {"root": "build lp-bad", "steps": [names...], "failed": false,
   "step_attrs": {"[3/5] COPY . .": {"layerprof.step.dockerfile_line": 5, ...}},
   "events": {"step name or root": ["layer-order", ...]},
   "process_args": {"step name": ["sleep 3", ...]},
   "resource": {"host.name": "vm", ...}, "spans": N (or absent),
   "procs": false (no process spans expected: a build that failed before any RUN)}

Prints one line per check, "PASS name" or "FAIL name: why", and exits 1 when
any failed. Uses only the standard library.
"""
import json
import sys
import time
import urllib.request

url, service, expect_path = sys.argv[1], sys.argv[2], sys.argv[3]
expect = json.load(open(expect_path))
fails = 0


def check(name, ok, why=""):
    global fails
    if ok:
        print("PASS jaeger: %s" % name)
    else:
        fails += 1
        print("FAIL jaeger: %s: %s" % (name, why))


# The build may be older than the query's default lookback: ask for all time.
q = "%s/api/traces?service=%s&start=0&end=%d&limit=50" % (url, service, int(time.time() * 1e6) + 10**9)
data = []
for _ in range(25):     # the receiver hands spans to storage asynchronously
    with urllib.request.urlopen(q, timeout=10) as r:
        data = json.load(r).get("data") or []
    n = sum(len(t["spans"]) for t in data)
    if data and (not expect.get("spans") or n >= expect["spans"]):
        break
    time.sleep(0.2)

check("one trace for service %s" % service, len(data) == 1, "%d traces" % len(data))
if len(data) != 1:
    sys.exit(1)
t = data[0]
spans = t["spans"]
by_id = {s["spanID"]: s for s in spans}
if expect.get("spans"):
    check("%d spans stored" % expect["spans"], len(spans) == expect["spans"], "%d spans" % len(spans))


def parent(s):
    for r in s.get("references", []):
        if r.get("refType") == "CHILD_OF":
            return by_id.get(r["spanID"])
    return None


def tags(s):
    return {x["key"]: x["value"] for x in s.get("tags", [])}


roots = [s for s in spans if parent(s) is None]
check("a single root span '%s'" % expect["root"],
      len(roots) == 1 and roots[0]["operationName"] == expect["root"],
      [r["operationName"] for r in roots])
if len(roots) != 1:
    sys.exit(1)
root = roots[0]
steps = {s["operationName"]: s for s in spans if parent(s) is root}
check("every step is a child of the build", sorted(steps) == sorted(expect["steps"]),
      "children %s, steps %s" % (sorted(steps), sorted(expect["steps"])))

# processes: every other span descends from a step through processes only
procs = [s for s in spans if s is not root and parent(s) is not root]
bad = []
for s in procs:
    p, hops = parent(s), 0
    while p is not None and p is not root and parent(p) is not root and hops < 64:
        p, hops = parent(p), hops + 1
    if p is None or p is root or "process.pid" not in tags(s):
        bad.append(s["operationName"])
if expect.get("procs", True):
    check("%d process spans under their steps (build -> step -> process)" % len(procs),
          len(procs) > 0 and not bad, "bad: %s" % bad[:5])
else:
    check("no process spans (no step ran a process)", not procs, [s["operationName"] for s in procs][:5])


def step_of(s):
    p = s
    while parent(p) is not None and parent(p) is not root:
        p = parent(p)
    return p["operationName"]


for step, want in expect.get("process_args", {}).items():
    got = set()
    for s in procs:
        if step_of(s) == step:
            a = tags(s).get("process.command_args")
            if isinstance(a, str) and a.startswith("["):
                a = " ".join(json.loads(a))
            got.add(a)
    for w in want:
        check("process '%s' under '%s'" % (w, step[:40]), any(g and w in g for g in got), sorted(x for x in got if x)[:8])

for step, attrs in expect.get("step_attrs", {}).items():
    s = steps.get(step)
    tg = tags(s) if s else {}
    for k, v in attrs.items():
        got = tg.get(k)
        if isinstance(v, list) and isinstance(got, str):
            got = json.loads(got)
        check("%s = %r on '%s'" % (k, v, step[:40]), got == v, "got %r" % (got,))

for where, kinds in expect.get("events", {}).items():
    s = root if where == "root" else steps.get(where)
    logs = s.get("logs", []) if s else []
    got = []
    for lg in logs:
        f = {x["key"]: x["value"] for x in lg["fields"]}
        got.append(f.get("event"))
        if f.get("event") in kinds:
            ev = f.get("layerprof.finding.evidence")
            check("finding %s on '%s' has its message and evidence" % (f.get("event"), where[:40]),
                  bool(f.get("layerprof.finding.message")) and ev and len(json.loads(ev)) > 0, f)
    check("finding events %s on '%s'" % (kinds, where[:40]), sorted(x for x in got if x) == sorted(kinds), got)

rt = tags(root)
if expect.get("failed"):
    check("the failed build's root span is an error", rt.get("error") is True or rt.get("otel.status_code") == "ERROR", rt)
else:
    check("the build's root span is not an error", "error" not in rt, rt)
for k, v in expect.get("root_attrs", {}).items():
    check("root %s = %r" % (k, v), rt.get(k) == v, "got %r" % (rt.get(k),))

proc = t["processes"][root["processID"]]
pt = {x["key"]: x["value"] for x in proc.get("tags", [])}
check("resource service.name %s" % service, proc.get("serviceName") == service, proc.get("serviceName"))
for k, v in expect.get("resource", {}).items():
    check("resource %s = %r" % (k, v), pt.get(k) == v, "got %r" % (pt.get(k),))

warned = [(s["operationName"], s.get("warnings")) for s in spans if s.get("warnings")]
check("Jaeger has no warning about any span", not warned, warned[:3])

# times: wall clock, children inside the build
t0, t1 = root["startTime"], root["startTime"] + root["duration"]
outside = [s["operationName"] for s in spans if s["startTime"] < t0 or s["startTime"] + s["duration"] > t1]
check("every span lies within the build's span", not outside, outside[:5])
if expect.get("start_us"):
    check("the build starts at the recorded wall-clock time", abs(t0 - expect["start_us"]) <= 1, "%d vs %d" % (t0, expect["start_us"]))
print("trace %s: %d spans" % (t["traceID"], len(spans)))
sys.exit(1 if fails else 0)
