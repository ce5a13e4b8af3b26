/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * `layerprof export FILE -o report.html`: the build as one self-contained
 * HTML page (no network, no external URL), for people who would rather look
 * than read a terminal: the summary, the findings with their evidence and
 * Dockerfile edit, a step timeline, the flame graph of where the time went,
 * the busiest files.
 *
 * Nothing is analysed here. The page carries two JSON data islands
 * (<script type="application/json">) and an inline script renders them:
 *   lp-report  the `report --json` document itself (lp_report_doc), so the
 *              page's findings, steps, hit rate and files are the report's;
 *   lp-flame   the time tree of flame.c (build -> step -> process tree ->
 *              self-time states) as nested {name, value, kind, children},
 *              frames under LP_HTML_MIN_SHARE of the total folded into
 *              "(other)" so a large build stays a small file.
 * A Content-Security-Policy meta tag forbids any fetch, so the page cannot
 * reach the network even if a string in the trace tried.
 */
#include "export.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "flame.h"
#include "model.h"
#include "report.h"
#include "util.h"
#include "version.h"

/* ------------------------------------------------------ the page's assets */

/* The stylesheet and the script, a line each (C11 promises string literals
 * of 4095 characters, not more; an array has no such limit). */
static const char *const page_css[] = {
	":root { --fg: #1d2330; --muted: #5b6475; --line: #d8dde6; --bg: #f6f7f9; --card: #fff;",
	"  --accent: #2358c4; --bad: #b3261e; --ok: #1f7a3a; --cached: #8a93a3; }",
	"* { box-sizing: border-box; }",
	"body { margin: 0; font: 14px/1.45 system-ui, -apple-system, \"Segoe UI\", Roboto, sans-serif; color: var(--fg); background: var(--bg); }",
	"header.top { padding: 14px 24px; background: #1d2330; color: #fff; display: flex; gap: 16px; align-items: baseline; flex-wrap: wrap; }",
	"header.top h1 { font-size: 18px; margin: 0; }",
	"header.top .file { color: #c5cbd8; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px; word-break: break-all; }",
	"nav { display: flex; gap: 14px; margin-left: auto; }",
	"nav a { color: #c5cbd8; text-decoration: none; }",
	"nav a:hover { color: #fff; }",
	"main { padding: 8px 24px 32px; max-width: 1400px; }",
	"section { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 14px 18px; margin: 16px 0; }",
	"section h2 { font-size: 16px; margin: 0 0 10px; }",
	".note { color: var(--muted); font-size: 12px; }",
	".verdict { font-size: 15px; margin: 0 0 12px; padding: 8px 12px; border-left: 4px solid var(--accent); background: #eef3fc; }",
	".verdict.bad { border-color: var(--bad); background: #fcefee; }",
	".verdict.good { border-color: var(--ok); background: #edf7f0; }",
	".cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 10px; }",
	".card { border: 1px solid var(--line); border-radius: 5px; padding: 8px 10px; }",
	".card .k { color: var(--muted); font-size: 12px; }",
	".card .v { font-size: 18px; font-weight: 600; }",
	".card .d { color: var(--muted); font-size: 12px; word-break: break-all; }",
	".warn { color: var(--bad); font-weight: 600; }",
	"article.finding { border-top: 1px solid var(--line); padding: 10px 0 4px; }",
	"article.finding:first-of-type { border-top: 0; }",
	"article.finding h3 { font-size: 14px; margin: 0 0 6px; font-weight: 600; }",
	".kind { display: inline-block; font: 600 11px ui-monospace, Menlo, Consolas, monospace; padding: 1px 6px; border-radius: 3px; background: #e6ecf8; color: var(--accent); margin-right: 6px; }",
	".kind.failed-step, .kind.secret-in-context, .kind.secret-in-layer { background: #fbe4e2; color: var(--bad); }",
	".finding ul { margin: 4px 0 6px 18px; padding: 0; }",
	".finding .lbl { color: var(--muted); font-size: 12px; font-weight: 600; margin-top: 6px; }",
	"pre { background: #f3f4f7; border: 1px solid var(--line); border-radius: 4px; padding: 6px 8px; margin: 4px 0; overflow-x: auto; font: 12px/1.4 ui-monospace, Menlo, Consolas, monospace; white-space: pre-wrap; word-break: break-all; }",
	".edit { display: grid; grid-template-columns: 1fr 1fr; gap: 10px; }",
	".edit pre.before { background: #fdf1f0; }",
	".edit pre.after { background: #eff8f1; }",
	"code, .mono { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }",
	".gantt { position: relative; }",
	".grow { display: flex; align-items: center; height: 22px; border-bottom: 1px solid #eef0f4; }",
	".grow:hover { background: #f4f7fd; }",
	".glabel { flex: 0 0 34%; overflow: hidden; white-space: nowrap; text-overflow: ellipsis; padding-right: 8px; font-size: 12px; }",
	".glabel .id { color: var(--muted); font-family: ui-monospace, Menlo, Consolas, monospace; margin-right: 4px; }",
	".gtrack { position: relative; flex: 1 1 auto; height: 100%; }",
	".gbar { position: absolute; top: 4px; height: 14px; min-width: 2px; border-radius: 2px; background: var(--accent); }",
	".gbar.failed { background: var(--bad); }",
	".gbar.cached { background: repeating-linear-gradient(45deg, #c9ced8, #c9ced8 3px, #e5e8ee 3px, #e5e8ee 6px); border: 1px solid var(--cached); }",
	".gtag { position: absolute; top: 3px; font-size: 11px; color: var(--muted); white-space: nowrap; }",
	".gtag.cached { color: var(--cached); font-weight: 600; }",
	".gaxis { position: relative; height: 18px; margin-left: 34%; border-top: 1px solid var(--line); font-size: 11px; color: var(--muted); }",
	".gaxis span { position: absolute; top: 2px; transform: translateX(-50%); }",
	".gaxis span:first-child { transform: none; }",
	"#tip { position: fixed; z-index: 10; pointer-events: none; background: #1d2330; color: #fff; font-size: 12px; padding: 6px 8px; border-radius: 4px; max-width: 560px; display: none; white-space: pre-wrap; word-break: break-all; }",
	".ftools { display: flex; gap: 10px; align-items: center; flex-wrap: wrap; margin-bottom: 8px; }",
	".ftools input { font: inherit; padding: 3px 6px; width: 240px; border: 1px solid var(--line); border-radius: 4px; }",
	".ftools button { font: inherit; padding: 3px 10px; border: 1px solid var(--line); border-radius: 4px; background: #fff; cursor: pointer; }",
	".legend { display: flex; gap: 10px; font-size: 12px; color: var(--muted); flex-wrap: wrap; }",
	".legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }",
	"#flame-graph { position: relative; overflow: hidden; border: 1px solid var(--line); border-radius: 4px; background: #fcfcfd; }",
	".fr { position: absolute; height: 17px; overflow: hidden; white-space: nowrap; font: 11px/17px ui-monospace, Menlo, Consolas, monospace; padding: 0 3px; border-right: 1px solid #fff; cursor: pointer; color: #1d2330; }",
	".fr.anc { opacity: 0.55; }",
	".fr.match { outline: 2px solid #d4148b; outline-offset: -2px; background: #f7b3de !important; }",
	"table { border-collapse: collapse; width: 100%; font-size: 12px; }",
	"th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eef0f4; vertical-align: top; }",
	"th { color: var(--muted); font-weight: 600; }",
	"td.num, th.num { text-align: right; white-space: nowrap; }",
	"td.path { word-break: break-all; font-family: ui-monospace, Menlo, Consolas, monospace; }",
	"footer { color: var(--muted); font-size: 12px; padding: 0 24px 24px; }",
	NULL,
};

static const char *const page_js[] = {
	"'use strict';",
	"(function () {",
	"  var doc = JSON.parse(document.getElementById('lp-report').textContent);",
	"  var flame = JSON.parse(document.getElementById('lp-flame').textContent);",
	"  var app = document.getElementById('app');",
	"  var build = doc.build || {};",
	"  var steps = doc.steps || [];",
	"  var findings = doc.findings || [];",
	"",
	"  /* ---------------------------------------------------------- helpers */",
	"  function el(tag, cls, text) {",
	"    var e = document.createElement(tag);",
	"    if (cls) e.className = cls;",
	"    if (text !== undefined && text !== null) e.textContent = String(text);",
	"    return e;",
	"  }",
	"  function add(parent, child) { parent.appendChild(child); return child; }",
	"  /* the CLI's units (util.c lp_fmt_duration_ns, lp_fmt_bytes) */",
	"  function fmtUs(us) {",
	"    if (us >= 60e6) return Math.floor(us / 60e6) + ' min ' + String(Math.floor(us / 1e6) % 60).padStart(2, '0') + ' s';",
	"    if (us >= 1e6) return (us / 1e6).toFixed(2) + ' s';",
	"    if (us >= 1e3) return (us / 1e3).toFixed(1) + ' ms';",
	"    return Math.round(us) + ' us';",
	"  }",
	"  function fmtMs(ms) { return fmtUs(ms * 1000); }",
	"  /* a duration of whole ms (the report's JSON): 0 is under a millisecond, not nothing */",
	"  function fmtDur(ms) { return ms ? fmtMs(ms) : '<1 ms'; }",
	"  function fmtBytes(n) {",
	"    var u = ['B', 'kB', 'MB', 'GB', 'TB'], i = 0, v = n;",
	"    while (v >= 1000 && i + 1 < u.length) { v /= 1000; i++; }",
	"    return i === 0 ? n + ' B' : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0) + ' ' + u[i];",
	"  }",
	"  function plural(n, one, many) { return n + ' ' + (n === 1 ? one : many); }",
	"  function pct(x) { return (x * 100).toFixed(x > 0 && x < 0.1 ? 1 : 0) + '%'; }",
	"  var stepById = {};",
	"  steps.forEach(function (s) { stepById[s.id] = s; });",
	"  function stepText(id) {",
	"    var s = stepById[id];",
	"    return s ? s.id + ' ' + s.name : id;",
	"  }",
	"",
	"  var tip = add(document.body, el('div'));",
	"  tip.id = 'tip';",
	"  function showTip(ev, text) {",
	"    tip.textContent = text;",
	"    tip.style.display = 'block';",
	"    var x = ev.clientX + 14, y = ev.clientY + 14;",
	"    var w = tip.offsetWidth, h = tip.offsetHeight;",
	"    if (x + w > window.innerWidth - 4) x = Math.max(4, ev.clientX - w - 14);",
	"    if (y + h > window.innerHeight - 4) y = Math.max(4, ev.clientY - h - 14);",
	"    tip.style.left = x + 'px';",
	"    tip.style.top = y + 'px';",
	"  }",
	"  function hideTip() { tip.style.display = 'none'; }",
	"  function section(id, title) {",
	"    var s = add(app, el('section'));",
	"    s.id = id;",
	"    add(s, el('h2', null, title));",
	"    return s;",
	"  }",
	"",
	"  /* ---------------------------------------------------------- summary */",
	"  (function summary() {",
	"    var s = section('summary', 'Summary');",
	"    var v = add(s, el('p', 'verdict'));",
	"    v.id = 'verdict';",
	"    var failed = build.status === 'failed';",
	"    var saveMs = 0;",
	"    findings.forEach(function (f) { saveMs = Math.max(saveMs, f.estimated_savings_ms || 0); });",
	"    if (failed) {",
	"      var fs = findings.filter(function (f) { return f.kind === 'failed-step'; })[0];",
	"      v.className += ' bad';",
	"      v.textContent = 'The build failed' + (fs && fs.step ? ' at ' + stepText(fs.step) : '') +",
	"        (build.error ? ': ' + build.error : '.');",
	"    } else if (findings.length) {",
	"      v.textContent = plural(findings.length, 'finding', 'findings') + ' below, each with its evidence and the edit that fixes it' +",
	"        (saveMs ? '; the largest saves about ' + fmtMs(saveMs) + ' per build.' : '.');",
	"    } else {",
	"      v.className += ' good';",
	"      v.textContent = 'Nothing slow or wrong was measured in this build.';",
	"    }",
	"    var cards = add(s, el('div', 'cards'));",
	"    function card(k, val, detail) {",
	"      var c = add(cards, el('div', 'card'));",
	"      add(c, el('div', 'k', k));",
	"      add(c, el('div', 'v', val));",
	"      if (detail) add(c, el('div', 'd', detail));",
	"      return c;",
	"    }",
	"    card('Status', failed ? 'FAILED' : 'ok', failed && build.error ? build.error : null).querySelector('.v').className += failed ? ' warn' : '';",
	"    card('Build time', fmtMs(build.wall_ms || 0), build.command || null);",
	"    card('Steps', plural(build.steps || 0, 'step', 'steps'), build.steps_inferred ? 'inferred from kernel evidence (attach mode)' : (build.cached_steps || 0) + ' cached');",
	"    if (build.steps_inferred) card('Cache hit rate', 'unknown', 'a cache hit leaves nothing to infer a step from');",
	"    else if (build.cache_hit_rate_known) card('Cache hit rate', pct(build.cache_hit_rate), build.cached_steps + ' of ' + build.cacheable_steps + ' cacheable steps (FROM not counted)' + (build.cold ? '; cold build' : ''));",
	"    else card('Cache hit rate', 'unknown', 'no cacheable step seen');",
	"    card('Context', plural(build.context_files || 0, 'file', 'files') + ', ' + fmtBytes(build.context_bytes || 0), build.context || null);",
	"    card('Context sent', build.context_sent_files || build.context_sent_bytes",
	"      ? plural(build.context_sent_files, 'file', 'files') + ', ' + fmtBytes(build.context_sent_bytes)",
	"      : 'nothing', build.context_sent_files || build.context_sent_bytes",
	"      ? build.context_added_files + ' added, ' + build.context_changed_files + ' changed, in ' + fmtDur(build.context_transfer_ms || 0)",
	"        + (build.context_walk_ms ? ', after ' + fmtDur(build.context_walk_ms) + ' walking the context' : '')",
	"        + (build.context_commit_ms ? ', its snapshot committed in ' + fmtDur(build.context_commit_ms) : '')",
	"        + (build.context_engine_ms ? '; ' + fmtDur(build.context_engine_ms) + ' more in the engine (set-up, no file work)' : '')",
	"      : 'the daemon had every file already'",
	"        + (build.context_walk_ms ? ' (' + fmtDur(build.context_walk_ms) + ' walking the context'",
	"          + (build.context_commit_ms ? ', its snapshot\\'s metadata synced in ' + fmtDur(build.context_commit_ms) : '') + ')' : '')",
	"        + (build.context_engine_ms ? '; ' + fmtDur(build.context_engine_ms) + ' more in the engine (set-up, no file work)' : ''));",
	"    if (build.image_bytes !== null && build.image_bytes !== undefined)",
	"      card('Image size', fmtBytes(build.image_bytes), build.image_bytes_source === 'image inspect' ? 'docker image inspect' : 'bytes written into new layers (base image not included)');",
	"    card('Events', String(build.events || 0), (build.lost_events || 0) + ' lost');",
	"    if (build.lost_events) add(s, el('p', 'warn', build.lost_events + ' events were lost: counts are lower bounds.'));",
	"    if (build.truncated) add(s, el('p', 'warn', 'The trace was truncated (' + (build.warning || 'no trailer') + '): this report covers what was recovered.'));",
	"  })();",
	"",
	"  /* --------------------------------------------------------- findings */",
	"  (function findingsSection() {",
	"    var s = section('findings', 'Findings (' + findings.length + ')');",
	"    if (!findings.length) { add(s, el('p', 'note', 'None: nothing slow or wrong was measured in this build.')); return; }",
	"    findings.forEach(function (f, i) {",
	"      var a = add(s, el('article', 'finding'));",
	"      a.id = 'finding-' + (i + 1);",
	"      var h = add(a, el('h3'));",
	"      add(h, el('span', 'kind ' + f.kind, f.kind));",
	"      add(h, el('span', 'title', f.message));",
	"      if (f.step) add(a, el('div', 'note', 'step ' + stepText(f.step)));",
	"      if (f.paths && f.paths.length) {",
	"        add(a, el('div', 'lbl', 'Paths' + (f.paths_total > f.paths.length ? ' (' + f.paths.length + ' of ' + f.paths_total + ')' : '')));",
	"        var ul = add(a, el('ul', 'paths'));",
	"        /* the first few; the rest folded (the report's --top shows 10) */",
	"        var more = null;",
	"        f.paths.forEach(function (p, k) {",
	"          if (k === 5 && f.paths.length > 6) {",
	"            var det = add(a, el('details'));",
	"            add(det, el('summary', 'note', (f.paths.length - 5) + ' more'));",
	"            more = add(det, el('ul', 'paths'));",
	"          }",
	"          add(add(more || ul, el('li')), el('code', null, p));",
	"        });",
	"      }",
	"      if (f.evidence && f.evidence.length) {",
	"        add(a, el('div', 'lbl', 'Evidence'));",
	"        var ev = add(a, el('ul', 'evidence'));",
	"        f.evidence.forEach(function (t) { add(ev, el('li', null, t)); });",
	"      }",
	"      if (f.edit_before && f.edit_after) {",
	"        add(a, el('div', 'lbl', 'Dockerfile edit'));",
	"        var g = add(a, el('div', 'edit'));",
	"        var b = add(g, el('div'));",
	"        add(b, el('div', 'note', 'before'));",
	"        add(b, el('pre', 'before', f.edit_before));",
	"        var af = add(g, el('div'));",
	"        add(af, el('div', 'note', 'after'));",
	"        add(af, el('pre', 'after', f.edit_after));",
	"      } else if (f.suggestion) {",
	"        add(a, el('div', 'lbl', 'Fix'));",
	"        add(a, el('pre', 'fix', f.suggestion));",
	"      }",
	"      var sv = [];",
	"      if (f.estimated_savings_ms) sv.push(fmtMs(f.estimated_savings_ms) + ' per build');",
	"      if (f.estimated_savings_bytes) sv.push(fmtBytes(f.estimated_savings_bytes));",
	"      if (sv.length) add(a, el('div', 'note', 'Estimated savings: ' + sv.join(', ')));",
	"    });",
	"  })();",
	"",
	"  /* ------------------------------------------------- step timeline (Gantt) */",
	"  (function gantt() {",
	"    var s = section('timeline', 'Step timeline');",
	"    add(s, el('p', 'note', 'One row per step on the build\\u2019s time axis (start to end, as the report times it); ' +",
	"      'hatched rows are cache hits. Hover a bar for its times.'));",
	"    var end = build.wall_ms || 0;",
	"    steps.forEach(function (st) { end = Math.max(end, st.start_ms + st.wall_ms); });",
	"    if (!end) end = 1;",
	"    var g = add(s, el('div', 'gantt'));",
	"    steps.forEach(function (st) {",
	"      var row = add(g, el('div', 'grow'));",
	"      row.dataset.step = st.id;",
	"      var lab = add(row, el('div', 'glabel'));",
	"      add(lab, el('span', 'id', st.id));",
	"      add(lab, el('span', 'name', st.name));",
	"      lab.title = st.name;",
	"      var tr = add(row, el('div', 'gtrack'));",
	"      var left = 100 * st.start_ms / end, w = 100 * st.wall_ms / end;",
	"      var bar = add(tr, el('div', 'gbar' + (st.cached ? ' cached' : '') + (st.status === 'failed' ? ' failed' : '')));",
	"      bar.style.left = left + '%';",
	"      bar.style.width = w + '%';",
	"      var tag = add(tr, el('span', 'gtag' + (st.cached ? ' cached' : ''), st.cached ? 'CACHED' : fmtDur(st.wall_ms)));",
	"      if (left + w > 85) { tag.style.right = (100 - left + 0.5) + '%'; } else { tag.style.left = 'calc(' + (left + w) + '% + 4px)'; }",
	"      var text = st.id + ' ' + st.name + '\\n' + (st.cached ? 'cached (cache hit)\\n' : '') +",
	"        'start ' + fmtMs(st.start_ms) + ', end ' + fmtMs(st.start_ms + st.wall_ms) + ', took ' + fmtDur(st.wall_ms) +",
	"        '\\nstatus ' + st.status + ', timed from ' + st.time_source + (st.error ? '\\nerror: ' + st.error : '');",
	"      row.addEventListener('mousemove', function (e) { showTip(e, text); });",
	"      row.addEventListener('mouseleave', hideTip);",
	"    });",
	"    var ax = add(s, el('div', 'gaxis'));",
	"    var raw = end / 8, mag = Math.pow(10, Math.floor(Math.log10(raw))), stp = mag;",
	"    [1, 2, 5, 10].forEach(function (k) { if (k * mag <= raw * 1.5) stp = k * mag; });",
	"    for (var t = 0; t <= end; t += stp) {",
	"      var sp = add(ax, el('span', null, t ? fmtMs(t) : '0'));",
	"      sp.style.left = (100 * t / end) + '%';",
	"    }",
	"  })();",
	"",
	"  /* ------------------------------------------------------- flame graph */",
	"  (function flameSection() {",
	"    var s = section('flame', 'Where the time went (flame graph)');",
	"    if (!flame || !flame.root || !flame.root.value) {",
	"      add(s, el('p', 'note', flame && flame.note ? flame.note : 'No time tree in this trace.'));",
	"      return;",
	"    }",
	"    if (flame.what) add(s, el('p', 'note', flame.what));",
	"    var tools = add(s, el('div', 'ftools'));",
	"    var search = add(tools, el('input'));",
	"    search.id = 'flame-search';",
	"    search.type = 'search';",
	"    search.placeholder = 'search (text or /regex/)';",
	"    var reset = add(tools, el('button', null, 'Reset zoom'));",
	"    reset.id = 'flame-reset';",
	"    var matched = add(tools, el('span', 'note'));",
	"    matched.id = 'flame-matched';",
	"    var legend = add(tools, el('span', 'legend'));",
	"    var graph = add(s, el('div'));",
	"    graph.id = 'flame-graph';",
	"    if (flame.folded) add(s, el('p', 'note', plural(flame.folded, 'frame', 'frames') + ' under ' +",
	"      pct(flame.min_share) + ' of the total are folded into \"(other)\" to keep this file small.'));",
	"",
	"    /* flatten: nodes in pre-order, each with its parent and depth */",
	"    var nodes = [];",
	"    (function walk(n, parent, depth) {",
	"      var i = nodes.length;",
	"      nodes.push({ name: n.name, value: n.value, kind: n.kind || '', parent: parent, depth: depth, kids: [] });",
	"      if (parent >= 0) nodes[parent].kids.push(i);",
	"      (n.children || []).forEach(function (c) { walk(c, i, depth + 1); });",
	"    })(flame.root, -1, 0);",
	"    var maxDepth = 0;",
	"    nodes.forEach(function (n) { maxDepth = Math.max(maxDepth, n.depth); });",
	"    var H = 18, total = nodes[0].value;",
	"    graph.style.height = ((maxDepth + 1) * H + 2) + 'px';",
	"",
	"    /* kinds of flame.c's nodes; a process's self time by state */",
	"    var palette = { build: '#9aa5b8', step: '#7fa6e8', process: '#f0b26b', 'on-cpu': '#5cc36f', 'off-cpu': '#b9c7d6',",
	"      running: '#8fd19e', 'file-io': '#f2d46b', waiting: '#c4b5e3', state: '#d6c8b0', gap: '#e3e6ec', other: '#d9dde5' };",
	"    var names = { build: 'build', step: 'step', process: 'process', 'on-cpu': 'on CPU',",
	"      'off-cpu': 'off CPU, untraced wait (sleep, epoll, futex, network)',",
	"      running: 'running or untraced wait (CPU time unknown)', 'file-io': 'file I/O',",
	"      waiting: 'waiting (pipe, socket, other fd)', state: 'mounts, other syscalls', gap: 'no traced process', other: '(other): small frames' };",
	"    var kinds = {};",
	"    nodes.forEach(function (n) { kinds[n.kind] = 1; });",
	"    Object.keys(palette).forEach(function (k) {",
	"      if (!kinds[k]) return;",
	"      var it = add(legend, el('span', null, names[k]));",
	"      var sw = el('i');",
	"      sw.style.background = palette[k];",
	"      it.insertBefore(sw, it.firstChild);",
	"    });",
	"    function color(n) {",
	"      if (palette[n.kind]) return palette[n.kind];",
	"      var h = 0;",
	"      for (var i = 0; i < n.name.length; i++) h = (h * 31 + n.name.charCodeAt(i)) >>> 0;",
	"      return 'hsl(' + (h % 360) + ',55%,72%)';",
	"    }",
	"    function label(n) {",
	"      return n.name + '\\n' + fmtUs(n.value) + ' (' + pct(n.value / total) + ' of the build' +",
	"        (n.parent >= 0 && nodes[n.parent].value ? ', ' + pct(n.value / nodes[n.parent].value) + ' of ' + nodes[n.parent].name : '') + ')';",
	"    }",
	"",
	"    var zoom = 0, re = null;",
	"    function isMatch(n) { return re !== null && re.test(n.name); }",
	"    function draw() {",
	"      graph.textContent = '';",
	"      graph.dataset.zoom = String(zoom);",
	"      var W = graph.clientWidth;",
	"      var frag = document.createDocumentFragment();",
	"      function put(i, x, w) {",
	"        var n = nodes[i];",
	"        var d = el('div', 'fr' + (isMatch(n) ? ' match' : ''), w > 30 ? n.name : '');",
	"        d.dataset.id = String(i);",
	"        d.style.left = x + 'px';",
	"        d.style.width = w + 'px';",
	"        d.style.top = (n.depth * H) + 'px';",
	"        d.style.background = color(n);",
	"        frag.appendChild(d);",
	"        return d;",
	"      }",
	"      /* the zoomed frame's ancestors: full width, dimmed */",
	"      for (var a = nodes[zoom].parent; a >= 0; a = nodes[a].parent) put(a, 0, W).className += ' anc';",
	"      (function lay(i, x, w) {",
	"        put(i, x, w);",
	"        var n = nodes[i], cx = x;",
	"        n.kids.forEach(function (k) {",
	"          var cw = n.value ? w * nodes[k].value / n.value : 0;",
	"          if (cw >= 0.5) lay(k, cx, cw);",
	"          cx += cw;",
	"        });",
	"      })(zoom, 0, W);",
	"      graph.appendChild(frag);",
	"    }",
	"    function updateSearch() {",
	"      var q = search.value;",
	"      re = null;",
	"      if (q) {",
	"        var m = /^\\/(.*)\\/$/.exec(q);",
	"        try { re = m ? new RegExp(m[1], 'i') : new RegExp(q.replace(/[.*+?^${}()|[\\]\\\\]/g, '\\\\$&'), 'i'); } catch (e) { re = null; }",
	"      }",
	"      /* matched time: frames that match and have no matching ancestor",
	"       * (a match inside a match is already counted) */",
	"      var sum = 0, count = 0;",
	"      (function walk(i, inside) {",
	"        var n = nodes[i], hit = isMatch(n);",
	"        if (hit) count++;",
	"        if (hit && !inside) sum += n.value;",
	"        n.kids.forEach(function (k) { walk(k, inside || hit); });",
	"      })(0, false);",
	"      matched.textContent = re ? plural(count, 'frame matches', 'frames match') + ', ' + pct(total ? sum / total : 0) + ' of the time (' + fmtUs(sum) + ')' : '';",
	"      matched.dataset.share = re ? String(total ? sum / total : 0) : '';",
	"      draw();",
	"    }",
	"    graph.addEventListener('click', function (e) {",
	"      var t = e.target.closest('.fr');",
	"      if (!t) return;",
	"      zoom = Number(t.dataset.id);",
	"      hideTip();",
	"      draw();",
	"    });",
	"    graph.addEventListener('mousemove', function (e) {",
	"      var t = e.target.closest('.fr');",
	"      if (t) showTip(e, label(nodes[Number(t.dataset.id)])); else hideTip();",
	"    });",
	"    graph.addEventListener('mouseleave', hideTip);",
	"    reset.addEventListener('click', function () { zoom = 0; draw(); });",
	"    search.addEventListener('input', updateSearch);",
	"    window.addEventListener('resize', draw);",
	"    draw();",
	"  })();",
	"",
	"  /* ----------------------------------------------------- busiest files */",
	"  (function files() {",
	"    var list = doc.busiest_files || [];",
	"    var s = section('files', 'Busiest files (time in open, read and write)');",
	"    if (!list.length) { add(s, el('p', 'note', 'No file activity was timed.')); return; }",
	"    var t = add(s, el('table'));",
	"    var hr = add(add(t, el('thead')), el('tr'));",
	"    [['Time', 'num'], ['Step', ''], ['Read', 'num'], ['Written', 'num'], ['Path', '']].forEach(function (h) { add(hr, el('th', h[1], h[0])); });",
	"    var tb = add(t, el('tbody'));",
	"    list.forEach(function (f) {",
	"      var r = add(tb, el('tr'));",
	"      add(r, el('td', 'num', fmtUs(f.time_us)));",
	"      var st = add(r, el('td', null, f.step || '-'));",
	"      if (f.step && stepById[f.step]) st.title = stepById[f.step].name;",
	"      add(r, el('td', 'num', fmtBytes(f.bytes_read)));",
	"      add(r, el('td', 'num', fmtBytes(f.bytes_written)));",
	"      add(r, el('td', 'path', f.path));",
	"    });",
	"  })();",
	"  document.body.dataset.ready = '1';",
	"})();",
	NULL,
};

/* ------------------------------------------------------------ the flame tree */

/* Frames under this share of the build are folded into their parent's
 * "(other)": a 10M-event build keeps a page of a few hundred kB. */
#define LP_HTML_MIN_SHARE 0.001

/* What the page colours a frame by: its kind, and for a process's self
 * time the state ("on-cpu", "off-cpu", "running", "file-io", "waiting"...). */
static const char *frame_kind(const struct lp_flame_node *n)
{
	if (n->kind != LP_FLAME_STATE)
		return lp_flame_kind_name(n->kind);
	switch (n->state) {
	case LP_FST_RUNNING: return "running";
	case LP_FST_ON_CPU: return "on-cpu";
	case LP_FST_OFF_CPU: return "off-cpu";
	case LP_FST_FILE_IO: return "file-io";
	case LP_FST_PIPE:
	case LP_FST_SOCKET:
	case LP_FST_FD_UNKNOWN:
	case LP_FST_OTHER_FD: return "waiting";
	default: return "state";
	}
}

struct flame_out {
	const struct lp_flame *f;
	const uint64_t *off;
	uint64_t min;           /* ns: narrower frames are folded */
	uint64_t folded;        /* frames folded, with everything under them */
	struct lp_buf b;
};

static uint64_t subtree_size(const struct lp_flame *f, int i)
{
	uint64_t n = 1;
	for (int c = f->nodes[i].first_child; c >= 0; c = f->nodes[c].next_sibling)
		n += subtree_size(f, c);
	return n;
}

/* Node i as {"name","value" (µs),"kind","children"}; values are the tree's
 * rounded offsets (lp_flame_rounded), so children sum to their parent's. */
static void flame_node(struct flame_out *fo, int i)
{
	const struct lp_flame *f = fo->f;
	const struct lp_flame_node *n = &f->nodes[i];
	lp_buf_puts(&fo->b, "{\"name\":");
	lp_buf_json_str(&fo->b, n->name);
	lp_buf_printf(&fo->b, ",\"value\":%llu,\"kind\":\"%s\"",
		      (unsigned long long)lp_flame_rounded(f, fo->off, i, 1000), frame_kind(n));
	if (n->first_child < 0) {
		lp_buf_puts(&fo->b, "}");
		return;
	}
	lp_buf_puts(&fo->b, ",\"children\":[");
	bool first = true;
	uint64_t other = 0, nother = 0;
	for (int c = n->first_child; c >= 0; c = f->nodes[c].next_sibling) {
		if (f->nodes[c].value < fo->min) {
			other += lp_flame_rounded(f, fo->off, c, 1000);
			nother += subtree_size(f, c);
			continue;
		}
		if (!first)
			lp_buf_puts(&fo->b, ",");
		first = false;
		flame_node(fo, c);
	}
	if (nother && other) {
		lp_buf_printf(&fo->b, "%s{\"name\":\"(other)\",\"value\":%llu,\"kind\":\"other\"}", first ? "" : ",",
			      (unsigned long long)other);
	}
	fo->folded += nother;
	lp_buf_puts(&fo->b, "]}");
}

/* The time tree (flame.c) as the page's lp-flame island: NULL (err set) on
 * failure. */
static char *html_flame_json(const struct lp_model *m, struct lp_reader *r, char *err, size_t errlen)
{
	struct lp_flame f;
	if (lp_flame_build(m, r, LP_METRIC_TIME, &f, err, errlen) < 0)
		return NULL;
	struct flame_out fo = { .f = &f, .off = lp_flame_offsets(&f) };
	fo.min = (uint64_t)((double)f.nodes[0].value * LP_HTML_MIN_SHARE);
	lp_buf_puts(&fo.b, "{\"unit\":\"us\",\"min_share\":");
	lp_buf_printf(&fo.b, "%g", LP_HTML_MIN_SHARE);
	lp_buf_puts(&fo.b, ",\"what\":");
	lp_buf_json_str(&fo.b, f.steps_overlap
		? "Width = wall time: build, its steps (stages ran in parallel: the build is the sum of its "
		  "steps' times), each step's processes nested under their parents, and where each process's "
		  "own time went (running or untraced waits, file I/O, waiting on pipes or sockets...). A step is as wide as "
		  "the report's time for it."
		: "Width = wall time: build, its steps, each step's processes nested under their parents, and "
		  "where each process's own time went (running or untraced waits, file I/O, waiting on pipes or sockets...). "
		  "A step is as wide as the report's time for it.");
	lp_buf_puts(&fo.b, ",\"root\":");
	flame_node(&fo, 0);
	lp_buf_printf(&fo.b, ",\"folded\":%llu}", (unsigned long long)fo.folded);
	free((void *)fo.off);
	lp_flame_free(&f);
	return fo.b.data;
}

/* ------------------------------------------------------------ escaping */

void lp_html_json_island(struct lp_buf *b, const char *json)
{
	/* cJSON writes only ASCII outside strings, so every byte replaced
	 * here is inside a string, where a \u escape means the same thing */
	const unsigned char *p = (const unsigned char *)(json ? json : "null");
	while (*p) {
		unsigned c = *p;
		if (c == '<' || c == '>' || c == '&' || c == 0x7f) {
			/* no "</script>" or "<!--" can end or bend the island */
			lp_buf_printf(b, "\\u%04x", c);
			p++;
		} else if (c < 0x80) {
			lp_buf_append(b, p, 1);
			p++;
		} else {
			size_t n = lp_utf8_seq_len(p, 4);
			if (n) {
				lp_buf_append(b, p, n);
				p += n;
			} else {
				/* cJSON copies a string's bytes as they are */
				lp_buf_puts(b, "\\ufffd");
				p++;
			}
		}
	}
}

static void put_island(struct lp_xout *o, const char *id, const char *json)
{
	struct lp_buf b = { 0 };
	lp_buf_printf(&b, "<script type=\"application/json\" id=\"%s\">", id);
	lp_html_json_island(&b, json);
	lp_buf_puts(&b, "</script>\n");
	lp_xout_write(o, b.data, b.len);
	lp_buf_free(&b);
}

static void put_lines(struct lp_xout *o, const char *const *lines)
{
	for (size_t i = 0; lines[i]; i++) {
		lp_xout_puts(o, lines[i]);
		lp_xout_puts(o, "\n");
	}
}

/* ------------------------------------------------------------- the page */

int lp_export_html(const struct lp_model *m, struct lp_reader *r, struct lp_xout *o,
		   const struct lp_export_opts *opt, char *err, size_t errlen)
{
	const char *trace = opt && opt->trace_name ? opt->trace_name : "";
	cJSON *doc = lp_report_doc(m, trace, NULL, 0);
	char *report = doc ? cJSON_PrintUnformatted(doc) : NULL;
	cJSON_Delete(doc);
	if (!report) {
		snprintf(err, errlen, "out of memory while making the report document");
		return -1;
	}
	char *flame = html_flame_json(m, r, err, errlen);
	if (!flame) {
		free(report);
		return -1;
	}

	struct lp_buf t = { 0 };
	lp_xml_str(&t, lp_base_name(trace), 0);
	lp_xout_puts(o, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
			"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
			/* self-contained: nothing may be fetched, whatever the data says */
			"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
			"style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
			"<meta name=\"generator\" content=\"layerprof " LAYERPROF_VERSION "\">\n");
	lp_xout_printf(o, "<title>layerprof report: %s</title>\n<style>\n", t.data ? t.data : "");
	put_lines(o, page_css);
	lp_xout_puts(o, "</style>\n</head>\n<body>\n<header class=\"top\"><h1>layerprof report</h1>");
	lp_buf_free(&t);
	lp_xml_str(&t, trace, 0);
	lp_xout_printf(o, "<span class=\"file\">%s</span>", t.data ? t.data : "");
	lp_buf_free(&t);
	lp_xout_puts(o, "<nav><a href=\"#summary\">Summary</a><a href=\"#findings\">Findings</a>"
			"<a href=\"#timeline\">Timeline</a><a href=\"#flame\">Flame graph</a>"
			"<a href=\"#files\">Files</a></nav></header>\n"
			"<main id=\"app\"><noscript><p>This report is drawn by its inline script; "
			"without JavaScript, <code>layerprof report</code> shows the same in a terminal.</p>"
			"</noscript></main>\n"
			"<footer>Made by layerprof " LAYERPROF_VERSION " from the recording above; the same "
			"data as <code>layerprof report --json</code>. This file is self-contained: it loads "
			"nothing from the network.</footer>\n");
	put_island(o, "lp-report", report);
	put_island(o, "lp-flame", flame);
	lp_xout_puts(o, "<script>\n");
	put_lines(o, page_js);
	lp_xout_puts(o, "</script>\n</body>\n</html>\n");
	free(report);
	free(flame);
	return 0;
}
