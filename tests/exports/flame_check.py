#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The time flame graphs of one trace against `layerprof report --json`.

  flame_check.py REPORT.json TRACE.folded TRACE.speedscope.json TRACE.svg

- each step's time is the report's: the SVG frame's exact value (data-v,
  ns) truncated to ms is the report's wall_ms; the folded lines under the
  step add up to that value in µs (+-1 µs of rounding); speedscope's
  weights under it are the folded ones exactly;
- the build's frame is the build's wall time (or the steps' sum, when
  they ran in parallel);
- no frame is "(unknown)": an fd of no known kind is "waiting on fd N,
  kind unknown";
- the speedscope file has its schema and the unit "microseconds".
Prints "ok NAME" / "not ok NAME: WHY" lines (run.sh turns them into
PASS/FAIL).
"""
import json
import re
import sys
import xml.etree.ElementTree as ET

failed = 0


def ok(name):
    print(f"ok {name}")


def notok(name, why):
    global failed
    failed += 1
    print(f"not ok {name}: {why}")


def frame(s):
    """A folded frame as export.c's lp_folded_frame writes it (ASCII cases)."""
    s = s.replace(";", ":")
    s = re.sub(r"[\x00-\x1f\x7f]", "?", s)
    s = re.sub(r"\s+", " ", s).strip()
    return s or "?"


report_path, folded_path, ss_path, svg_path = sys.argv[1:5]
report = json.load(open(report_path))
steps = [s for s in report["steps"] if s.get("name")]
names = [s["name"] for s in steps]
unique = {n for n in names if names.count(n) == 1}

# folded: per step (second frame), in µs
folded = {}
total = 0
unknown = []
for line in open(folded_path, encoding="utf-8"):
    line = line.rstrip("\n")
    stack, count = line.rsplit(" ", 1)
    frames = stack.split(";")
    total += int(count)
    if len(frames) > 1:
        folded[frames[1]] = folded.get(frames[1], 0) + int(count)
    if "(unknown)" in frames:
        unknown.append(line)

# svg: step frames' exact values (ns)
svg_ns = {}
root = ET.parse(svg_path).getroot()
ns = {"s": "http://www.w3.org/2000/svg"}
for g in root.iter("{http://www.w3.org/2000/svg}g"):
    cls = g.get("class", "")
    if "step" not in cls.split():
        continue
    title = g.find("s:title", ns).text
    svg_ns[title.split(" \u2014 ")[0]] = int(g.get("data-v"))

# speedscope: per step (second frame of a sample), in its unit
ss = json.load(open(ss_path))
prof = ss["profiles"][0]
fr = [f["name"] for f in ss["shared"]["frames"]]
ss_steps = {}
for sample, w in zip(prof["samples"], prof["weights"]):
    if len(sample) > 1:
        ss_steps[fr[sample[1]]] = ss_steps.get(fr[sample[1]], 0) + w

checked = 0
for s in steps:
    n = s["name"]
    if n not in unique:
        continue
    ms = s["wall_ms"]
    v = svg_ns.get(n)
    us = folded.get(frame(n), 0)
    if v is None:
        # narrower than the SVG draws (under 0.1 px): the folded µs against the report's ms
        if not (max(us - 1, 0) // 1000 <= ms <= (us + 1) // 1000):
            notok(f"step {n!r}: folded lines add up to its time", f"folded {us} us, report {ms} ms (not in the svg)")
            continue
    elif v // 1000000 != ms:
        notok(f"step {n!r}: svg value is the report's time", f"svg {v} ns, report {ms} ms")
        continue
    elif abs(us * 1000 - v) > 1000:
        notok(f"step {n!r}: folded lines add up to its time", f"folded {us} us, svg {v} ns")
        continue
    if ss_steps.get(n, 0) != us:
        notok(f"step {n!r}: speedscope weights are the folded counts", f"speedscope {ss_steps.get(n, 0)}, folded {us}")
        continue
    checked += 1
if checked and not failed:
    ok(f"{checked} steps: svg, folded and speedscope widths are the report's step times")
elif not checked:
    notok("steps checked", f"none of {names} could be compared")

wall_ms = report["build"]["wall_ms"]
steps_us = sum(folded.get(frame(n), 0) for n in unique)
if steps_us <= wall_ms * 1000 + 1000:
    if -2 <= total / 1000 - wall_ms < 1.002:
        ok(f"the build's width is its wall time ({total} us, report {wall_ms} ms)")
    else:
        notok("the build's width is its wall time", f"folded total {total} us, report {wall_ms} ms")
else:
    ok(f"steps ran in parallel: the build's width is their sum ({total} us, wall {wall_ms} ms)")

if unknown:
    notok('no "(unknown)" frame', unknown[0])
else:
    ok('no "(unknown)" frame in the time flame graph')

if ss.get("$schema") == "https://www.speedscope.app/file-format-schema.json" and prof["unit"] == "microseconds" \
        and prof["type"] == "sampled" and prof["endValue"] == sum(prof["weights"]) == total:
    ok(f"speedscope file: schema, unit microseconds, endValue {prof['endValue']} = the folded total")
else:
    notok("speedscope file", f"schema {ss.get('$schema')}, unit {prof.get('unit')}, end {prof.get('endValue')}, "
          f"weights {sum(prof['weights'])}, folded {total}")
sys.exit(1 if failed else 0)
