#!/usr/bin/env python3
"""Checks a Perfetto export, decoded by protoc --decode=lpmin.Trace (text
format), against `layerprof report --json` and `layerprof dump --json` of
the same trace. Prints one "PASS what" or "FAIL what: why" line per check
(tests/exports/perfetto.sh counts them).

usage: perfetto_check.py DECODED.txt REPORT.json DUMP.ndjson
       perfetto_check.py --cpu DECODED.txt DUMP.ndjson
         (only: every process slice carries its exit record's CPU time; for
         a recording without build steps)
"""
import codecs
import collections
import json
import re
import sys


def parse_text(path):
    """protoc's text format -> nested dicts of lists (field -> [values])."""
    root = collections.defaultdict(list)
    stack = [root]
    leaf = re.compile(r'^([A-Za-z_0-9]+): (.*)$')
    with open(path, encoding="ascii", errors="replace") as f:
        for raw in f:
            line = raw.strip()
            if not line:
                continue
            if line.endswith("{"):
                msg = collections.defaultdict(list)
                stack[-1][line[:-1].strip()].append(msg)
                stack.append(msg)
            elif line == "}":
                stack.pop()
            else:
                m = leaf.match(line)
                if not m:
                    raise ValueError("cannot parse: " + line)
                k, v = m.groups()
                if v.startswith('"'):
                    v = codecs.escape_decode(v[1:-1].encode("latin-1"))[0].decode("utf-8", "replace")
                elif re.fullmatch(r"-?[0-9]+", v):
                    v = int(v)
                elif re.fullmatch(r"-?[0-9.e+]+|inf|nan", v):
                    v = float(v)
                stack[-1][k].append(v)
    return root


def one(msg, key, default=None):
    v = msg.get(key)
    return v[0] if v else default


results = []


def check(what, ok, why=""):
    results.append(("PASS " + what) if ok else ("FAIL %s: %s" % (what, why or "no")))


def main():
    trace = parse_text(sys.argv[1])
    report = json.load(open(sys.argv[2]))
    dump = [json.loads(l) for l in open(sys.argv[3]) if l.startswith("{")]
    packets = trace["packet"]

    # ------------------------------------------------------------ tracks
    tracks = {}
    event_names = {}
    for p in packets:
        td = one(p, "track_descriptor")
        if td:
            tracks[one(td, "uuid")] = td
        for i in p.get("interned_data", []):
            for en in i.get("event_names", []):
                event_names[one(en, "iid")] = one(en, "name")
    seqs = {one(p, "trusted_packet_sequence_id") for p in packets}
    check("every packet has trusted_packet_sequence_id 1", seqs == {1}, "saw %s" % sorted(map(str, seqs)))
    check("the first packet clears the incremental state", one(packets[0], "sequence_flags") == 1)
    roots = [u for u, t in tracks.items() if one(t, "parent_uuid") is None]
    check("one root track, named build", len(roots) == 1 and one(tracks[roots[0]], "name") == "build",
          "roots: %s" % [one(tracks[u], "name") for u in roots])
    build = roots[0] if roots else None
    dangling = [u for u, t in tracks.items() if one(t, "parent_uuid") is not None and one(t, "parent_uuid") not in tracks]
    check("every parent_uuid names a track", not dangling, "tracks %s" % dangling[:5])
    children = collections.defaultdict(list)
    for u, t in tracks.items():
        children[one(t, "parent_uuid")].append(u)

    # ------------------------------------------------------------ events
    events = collections.defaultdict(list)   # track -> [(ts, order, type, te)]
    for n, p in enumerate(packets):
        te = one(p, "track_event")
        if te:
            events[one(te, "track_uuid")].append((one(p, "timestamp", 0), n, one(te, "type"), te))
    unknown = [u for u in events if u not in tracks]
    check("every event is on a described track", not unknown, "uuids %s" % unknown[:5])

    # slices per track, nested: sort by time (file order breaks ties, as
    # the trace processor's sort is stable), then a stack
    slices = collections.defaultdict(list)   # track -> [(begin, end, begin_event)]
    bad = []
    for u, evs in events.items():
        stack = []
        for ts, _, typ, te in sorted(evs, key=lambda e: (e[0], e[1])):
            if typ == "TYPE_SLICE_BEGIN":
                stack.append((ts, te))
            elif typ == "TYPE_SLICE_END":
                if not stack:
                    bad.append("%s: END at %d without BEGIN" % (one(tracks.get(u, {}), "name"), ts))
                    continue
                b, bte = stack.pop()
                slices[u].append((b, ts, bte))
        if stack:
            bad.append("%s: %d slices never end" % (one(tracks.get(u, {}), "name"), len(stack)))
    check("slices nest: every END closes a BEGIN on its track, none left open", not bad, "; ".join(bad[:3]))

    # ------------------------------------------------------------- build
    rb = report["build"]
    bsl = slices.get(build, [])
    check("the build track has one slice", len(bsl) == 1, "%d" % len(bsl))
    if not bsl:
        return
    b0, b1, _ = bsl[0]
    check("the build slice lasts the report's wall_ms", (b1 - b0) // 1000000 == rb["wall_ms"],
          "%d ns vs %s ms" % (b1 - b0, rb["wall_ms"]))

    # ------------------------------------------------------------- steps
    by_name = collections.defaultdict(list)
    for u in children[build]:
        by_name[one(tracks[u], "name")].append(u)
    steps = report["steps"]
    missing = [s["name"] for s in steps if len(by_name.get(s["name"], [])) != 1]
    check("a track per step under build, named as the report names it (%d steps)" % len(steps), not missing,
          "missing or doubled: %s" % missing[:3])
    step_track = {s["name"]: by_name[s["name"]][0] for s in steps if len(by_name.get(s["name"], [])) == 1}
    ranks = [one(tracks[step_track[s["name"]]], "sibling_order_rank") for s in steps if s["name"] in step_track]
    check("step tracks are ordered as the report lists them", ranks == sorted(ranks), "ranks %s" % ranks)
    wrong = []
    timed = 0
    for s in steps:
        u = step_track.get(s["name"])
        if u is None:
            continue
        sl = slices.get(u, [])
        if not sl:
            if s["wall_ms"] != 0 or not s["cached"] and s["time_source"] != "none":
                wrong.append("%s: no slice, report %s ms (%s)" % (s["name"], s["wall_ms"], s["time_source"]))
            continue
        timed += 1
        a, e, te = sl[0]
        start_ms = (a - b0) // 1000000 if a > b0 else 0
        if len(sl) != 1 or start_ms != s["start_ms"] or (e - a) // 1000000 != s["wall_ms"]:
            wrong.append("%s: %d slices, starts at %d ms lasts %d ns; report %s ms, %s ms" %
                         (s["name"], len(sl), start_ms, e - a, s["start_ms"], s["wall_ms"]))
        if one(te, "name") != s["name"]:
            wrong.append("%s: slice named %r" % (s["name"], one(te, "name")))
    check("step slices start and last as the report says (%d timed)" % timed, timed > 0 and not wrong, "; ".join(wrong[:3]))

    # --------------------------------------------------------- processes
    def is_proc(u):
        return any("process" in one(t, "categories", "") for _, _, t in slices.get(u, []))
    wrong = []
    nprocs = 0
    for s in steps:
        u = step_track.get(s["name"])
        if u is None:
            continue
        procs = [c for c in children[u] if is_proc(c)]
        nprocs += len(procs)
        if len(procs) != s["processes"]:
            wrong.append("%s: %d process tracks, report %d" % (s["name"], len(procs), s["processes"]))
    check("each step has as many process tracks as the report's processes (%d in all)" % nprocs,
          nprocs > 0 and not wrong, "; ".join(wrong[:3]))
    proc_tracks = [u for u in tracks if is_proc(u)]
    parents_ok = all(one(tracks[u], "parent_uuid") == build or one(tracks[u], "parent_uuid") in step_track.values()
                     for u in proc_tracks)
    check("process tracks sit under a step or the build", parents_ok)

    # ---------------------------------------------------------- syscalls
    sc_dump = [d for d in dump if d.get("kind") == "syscall"]
    sc_tracks = [u for u in tracks if one(tracks[u], "name", "").startswith("syscalls")]
    sc_slices = [(a, e, te) for u in sc_tracks for a, e, te in slices.get(u, [])]
    check("every syscall record is a slice, nothing capped (%d)" % len(sc_dump), len(sc_slices) == len(sc_dump),
          "%d slices for %d records" % (len(sc_slices), len(sc_dump)))
    names = collections.Counter(event_names.get(one(te, "name_iid")) for _, _, te in sc_slices)
    want = collections.Counter(d["syscall"] for d in sc_dump)
    check("syscall slices have the records' names", names == want,
          "slices %s, records %s" % (list((names - want).items())[:3], list((want - names).items())[:3]))
    ends = {d["ts_ns"] for d in sc_dump}
    late = [e for _, e, _ in sc_slices if e not in ends]
    check("syscall slices end at their records' times", not late, "%d do not" % len(late))
    under = all(one(tracks[one(tracks[u], "parent_uuid")], "parent_uuid") is not None for u in sc_tracks)
    check("syscall tracks sit under process tracks", under)

    # ---------------------------------------------------------- counters
    counters = {one(t, "name"): u for u, t in tracks.items() if one(t, "counter") is not None}
    check("counter tracks: I/O read, I/O written, open files",
          set(counters) == {"I/O read", "I/O written", "open files"}, "%s" % sorted(counters))
    for nm, u in counters.items():
        vals = [one(te, "double_counter_value", one(te, "counter_value")) for _, _, typ, te in events.get(u, [])
                if typ == "TYPE_COUNTER"]
        check("counter %s has values, none negative, some above 0 (%d)" % (nm, len(vals)),
              vals and min(vals) >= 0 and max(vals) > 0, "values %s" % vals[:5])

    # ------------------------------------------------------------- flows
    out_flows, in_flows = {}, {}
    for u, evs in events.items():
        for _, _, typ, te in evs:
            for f in te.get("flow_ids", []):
                out_flows[f] = u
            for f in te.get("terminating_flow_ids", []):
                in_flows[f] = u
    check("every flow that ends has a start (%d flows)" % len(in_flows),
          in_flows and set(in_flows) <= set(out_flows), "unmatched %s" % sorted(set(in_flows) - set(out_flows))[:5])
    from_steps = {f for f, u in out_flows.items() if u in step_track.values()}
    check("flows leave step slices (%d) and reach process slices" % len(from_steps),
          from_steps and all(is_proc(in_flows.get(f)) for f in from_steps if f in in_flows))


def cpu_main():
    """Process slices carry on_cpu_ns = the exit record's cpu_ns, by pid."""
    trace = parse_text(sys.argv[2])
    dump = [json.loads(l) for l in open(sys.argv[3]) if l.startswith("{")]
    # a process's exit record is its last thread's (tid need not be the
    # pid); cpu_ns null: not measured, and the slice has no on_cpu_ns
    want = collections.defaultdict(list)   # pid -> cpu_ns of its process exits
    for d in dump:
        if d.get("kind") == "exit" and d.get("cpu_ns"):
            want[d["pid"]].append(d["cpu_ns"])
    if not want:
        results.append("FAIL process CPU time: the recording's exit records have no cpu_ns")
        return
    got = collections.defaultdict(list)
    for p in trace["packet"]:
        te = one(p, "track_event")
        if not te or one(te, "type") != "TYPE_SLICE_BEGIN" or "process" not in one(te, "categories", ""):
            continue
        ann = {one(a, "name"): one(a, "uint_value", one(a, "int_value")) for a in te.get("debug_annotations", [])}
        if ann.get("on_cpu_ns") is not None:
            got[ann.get("pid")].append(ann["on_cpu_ns"])
    n = sum(len(v) for v in want.values())
    wrong = ["pid %s: slices %s, exits %s" % (pid, sorted(got.get(pid, [])), sorted(v))
             for pid, v in want.items() if sorted(got.get(pid, [])) != sorted(v)]
    check("process slices carry their exit records' CPU time, on_cpu_ns (%d processes)" % n,
          not wrong, "; ".join(wrong[:3]))


if __name__ == "__main__":
    try:
        cpu_main() if sys.argv[1] == "--cpu" else main()
    finally:
        print("\n".join(results))
