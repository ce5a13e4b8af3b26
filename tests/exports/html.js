#!/usr/bin/env node
// SPDX-License-Identifier: BSD-2-Clause
// The HTML report (`layerprof export FILE -o report.html`) in headless Debian
// Chromium driven by playwright-core, opened from file:// as a user would:
//   - the file names no external URL (src/href) and the page makes no
//     network request at all, logs no console error, throws nothing;
//   - every step of `report --json` has its timeline row (name, cached
//     mark, bar placed on the build's time axis) and every finding its
//     title, evidence and edit, as the report's JSON document says;
//   - the flame graph's root is the build, a click on a frame zooms it to
//     the full width (the graph's data-zoom and the frame's box), "Reset
//     zoom" undoes it, and a search highlights the matching frames with
//     their share of the time.
// Screenshots: html-report-full.png (full page), html-report.png (the top of
// the page), html-flame-zoomed.png (the flame graph after the click).
//
//   node html.js --html FILE --report REPORT.json --shots DIR
//
// Prints "ok NAME", "not ok NAME: WHY" or "skip NAME: WHY", one per line.
'use strict';
const fs = require('fs');
const path = require('path');
const { launch } = require('./chromium');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
let failed = 0;
const ok = (n) => console.log(`ok ${n}`);
const notok = (n, why) => { failed++; console.log(`not ok ${n}: ${String(why).replace(/\n/g, ' ')}`); };
const expect = (cond, n, why) => (cond ? ok(n) : notok(n, typeof why === 'function' ? why() : why));

let pw;
try {
  pw = require('playwright-core');
} catch (e) {
  console.log(`skip html report in chromium: playwright-core is not installed (${e.message})`);
  process.exit(0);
}

const report = JSON.parse(fs.readFileSync(args.report, 'utf8'));
const html = fs.readFileSync(args.html, 'utf8');
const shots = args.shots;

// ------------------------------------------------ the file, before loading
{
  // any src= or href= that is not an in-page anchor would be fetched or followed
  const attrs = [...html.matchAll(/\s(src|href|action|poster|srcset)\s*=\s*["']?([^"'\s>]*)/gi)]
    .filter((m) => !m[2].startsWith('#'));
  expect(attrs.length === 0, 'html: no src/href to anything but an in-page anchor',
    () => JSON.stringify(attrs.map((m) => m[0]).slice(0, 5)));
  const ext = html.match(/(src|href)\s*=\s*["']?\s*(https?:)?\/\//gi) || html.match(/url\(\s*["']?\s*(https?:)?\/\//gi) ||
    html.match(/@import/gi);
  expect(!ext, 'html: no http:// or https:// src/href/url()/@import', () => JSON.stringify(ext));
  expect(/Content-Security-Policy" content="default-src 'none'/.test(html), 'html: a CSP that forbids any fetch', 'no CSP meta');
  // the data island is the report's document, byte for byte once parsed
  const island = html.match(/<script type="application\/json" id="lp-report">([\s\S]*?)<\/script>/);
  let same = false;
  if (island) {
    const j = JSON.parse(island[1]);
    same = JSON.stringify(j.steps) === JSON.stringify(report.steps) &&
      JSON.stringify(j.findings) === JSON.stringify(report.findings) &&
      JSON.stringify(j.busiest_files) === JSON.stringify(report.busiest_files) &&
      j.build.cache_hit_rate === report.build.cache_hit_rate && j.build.wall_ms === report.build.wall_ms;
  }
  expect(same, 'html: its lp-report island is the document of report --json (steps, findings, files, build)',
    island ? 'differs' : 'no lp-report island');
}

(async () => {
  let browser;
  let ctx;
  try {
    browser = await launch(pw, { width: 1280, height: 900 });
    ctx = browser.ctx;
    const page = await ctx.newPage();
    const url = 'file://' + path.resolve(args.html);
    const requests = [], errors = [];
    ctx.on('request', (r) => { if (r.url() !== url) requests.push(r.url()); });
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(`console.${m.type()}: ${m.text()}`); });
    page.on('pageerror', (e) => errors.push(`pageerror: ${e}`));
    await page.goto(url);
    try {
      await page.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 20000 });
      ok('page: the script drew the report');
    } catch (e) {
      notok('page: the script drew the report', errors.join('; ') || e.message);
    }
    await page.waitForTimeout(300);

    // ---------------------------------------------------------- summary
    const verdict = await page.textContent('#verdict').catch(() => '');
    expect(verdict.length > 10, `summary: a verdict ("${verdict.slice(0, 80)}")`, 'no #verdict');
    const cards = await page.$$eval('#summary .card', (cs) => cs.map((c) => [c.querySelector('.k').textContent, c.querySelector('.v').textContent]));
    const card = Object.fromEntries(cards);
    const b = report.build;
    if (b.cache_hit_rate_known) {
      const want = Math.round(b.cache_hit_rate * 100);
      expect(parseFloat(card['Cache hit rate']) === want, `summary: cache hit rate ${card['Cache hit rate']} is the report's ${b.cache_hit_rate}`,
        `shown "${card['Cache hit rate']}"`);
    }
    expect(card.Steps === `${b.steps} step${b.steps === 1 ? '' : 's'}`, `summary: "${card.Steps}" (the report's ${b.steps})`, `shown "${card.Steps}"`);
    const wallShown = card['Build time'] || '';
    const mins = /^(\d+) min (\d+) s$/.exec(wallShown);
    const wallSec = mins ? Number(mins[1]) * 60 + Number(mins[2])
      : parseFloat(wallShown) * (/ ms$/.test(wallShown) ? 1e-3 : / us$/.test(wallShown) ? 1e-6 : 1);
    expect(Math.abs(wallSec - b.wall_ms / 1000) <= 0.01 + b.wall_ms / 1000 * 0.01,
      `summary: build time "${wallShown}" is the report's ${b.wall_ms} ms`, `shown "${wallShown}"`);

    // --------------------------------------------------------- findings
    const shownF = await page.$$eval('#findings article.finding', (as) => as.map((a) => ({
      kind: a.querySelector('.kind').textContent,
      title: a.querySelector('.title').textContent,
      visible: a.getBoundingClientRect().height > 0,
      evidence: [...a.querySelectorAll('ul.evidence li')].map((l) => l.textContent),
      before: (a.querySelector('pre.before') || {}).textContent || null,
      after: (a.querySelector('pre.after') || {}).textContent || null,
      fix: (a.querySelector('pre.fix') || {}).textContent || null,
    })));
    expect(shownF.length === report.findings.length, `findings: ${shownF.length} shown, ${report.findings.length} in the report`, 'counts differ');
    const text = await page.evaluate(() => document.body.innerText);
    report.findings.forEach((f, i) => {
      const s = shownF[i] || {};
      const name = `finding ${i + 1} [${f.kind}]`;
      expect(s.kind === f.kind && s.title === f.message && s.visible && text.includes(f.message),
        `${name}: its title is on the page ("${f.message.slice(0, 60)}...")`, () => JSON.stringify(s).slice(0, 200));
      expect(JSON.stringify(s.evidence) === JSON.stringify(f.evidence), `${name}: its ${f.evidence.length} evidence lines`,
        () => JSON.stringify(s.evidence).slice(0, 200));
      if (f.edit_before && f.edit_after) {
        expect(s.before === f.edit_before && s.after === f.edit_after, `${name}: its Dockerfile edit, before and after`,
          () => JSON.stringify([s.before, s.after]).slice(0, 200));
      } else if (f.suggestion) {
        expect(s.fix === f.suggestion, `${name}: its fix`, () => JSON.stringify(s.fix).slice(0, 200));
      }
    });

    // ----------------------------------------------------------- Gantt
    const rows = await page.$$eval('#timeline .grow', (rs) => rs.map((r) => {
      const bar = r.querySelector('.gbar').getBoundingClientRect();
      const track = r.querySelector('.gtrack').getBoundingClientRect();
      return {
        id: r.dataset.step, name: r.querySelector('.name').textContent,
        cached: r.querySelector('.gbar').classList.contains('cached'),
        tag: r.querySelector('.gtag').textContent,
        x0: (bar.left - track.left) / track.width, w: bar.width / track.width, visible: track.width > 100,
      };
    }));
    expect(rows.length === report.steps.length, `timeline: ${rows.length} rows for ${report.steps.length} steps`, 'counts differ');
    const end = Math.max(b.wall_ms, ...report.steps.map((s) => s.start_ms + s.wall_ms)) || 1;
    let bad = [];
    report.steps.forEach((s, i) => {
      const r = rows[i] || {};
      if (r.id !== s.id || r.name !== s.name || !r.visible || !text.includes(s.name)) bad.push(`${s.id} name ${JSON.stringify(r.name)}`);
      else if (r.cached !== s.cached || (s.cached && r.tag !== 'CACHED')) bad.push(`${s.id} cached ${r.cached} tag ${r.tag}`);
      else if (Math.abs(r.x0 - s.start_ms / end) > 0.005) bad.push(`${s.id} starts at ${r.x0.toFixed(3)}, not ${(s.start_ms / end).toFixed(3)}`);
      // bars are at least 2 px wide, so short steps are still seen
      else if (Math.abs(r.w - s.wall_ms / end) > 0.005 && s.wall_ms / end > 0.005) bad.push(`${s.id} width ${r.w.toFixed(3)}, not ${(s.wall_ms / end).toFixed(3)}`);
    });
    expect(!bad.length, `timeline: every step's row, name, cached mark and bar (start..end on the build's axis; ${report.steps.filter((s) => s.cached).length} cached)`,
      bad.slice(0, 4).join('; '));
    // hover says the times
    const longest = report.steps.reduce((a, s) => (s.wall_ms > a.wall_ms ? s : a), report.steps[0]);
    if (longest) {
      await page.hover(`#timeline .grow[data-step="${longest.id}"] .gbar`);
      const tip = await page.textContent('#tip');
      expect(tip.includes(longest.name) && /start .* end .* took /.test(tip), `timeline: hovering ${longest.id} shows its times`, `tip "${tip}"`);
    }

    await page.mouse.move(0, 0);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(shots, 'html-report-full.png'), fullPage: true });
    await page.screenshot({ path: path.join(shots, 'html-report.png') });

    // ------------------------------------------------------ flame graph
    const hasFlame = /"root"\s*:/.test((html.match(/id="lp-flame">([\s\S]*?)<\/script>/) || [])[1] || '');
    if (!hasFlame) {
      notok('flame graph: drawn', 'the lp-flame island has no time tree');
    } else {
      // a step's frame is as wide as the report's time for it (µs against whole ms)
      const tree = JSON.parse(html.match(/id="lp-flame">([\s\S]*?)<\/script>/)[1]);
      const stepFrames = (tree.root.children || []).filter((c) => c.kind === 'step');
      const off = stepFrames.filter((c) => {
        const s = report.steps.find((x) => x.name === c.name);
        return !s || Math.abs(c.value / 1000 - s.wall_ms) > 1;
      });
      expect(stepFrames.length && !off.length, `flame graph: ${stepFrames.length} step frames, each the report's time of its step`,
        () => JSON.stringify(off.slice(0, 3).map((c) => [c.name, c.value])));
      const gw = await page.$eval('#flame-graph', (g) => g.clientWidth);
      const frames = () => page.$$eval('#flame-graph .fr', (fs) => fs.map((f) => ({
        id: f.dataset.id, name: f.textContent, top: parseFloat(f.style.top), w: parseFloat(f.style.width), x: parseFloat(f.style.left),
        anc: f.classList.contains('anc'), match: f.classList.contains('match'),
      })));
      const before = await frames();
      const root = before.find((f) => f.id === '0');
      expect(root && Math.abs(root.w - gw) < 1, `flame graph: ${before.length} frames, the root spans the graph (${gw} px)`, JSON.stringify(root));
      // a frame one level below the root, narrower than the graph, wide enough to click
      const target = before.filter((f) => f.top > 0 && f.w > 8 && f.w < gw * 0.9).sort((a, c) => a.top - c.top || c.w - a.w)[0];
      if (!target) {
        notok('flame graph: a click zooms', 'no frame narrower than the graph to click');
      } else {
        // near its left edge: a frame's middle may be under its children's tooltips
        await page.click(`#flame-graph .fr[data-id="${target.id}"]`, { position: { x: Math.min(target.w / 2, 4), y: 8 } });
        const zoom = await page.$eval('#flame-graph', (g) => g.dataset.zoom);
        const after = await frames();
        const z = after.find((f) => f.id === target.id && !f.anc);
        expect(zoom === target.id && z && Math.abs(z.w - gw) < 1 && z.x === 0,
          `flame graph: a click on "${target.name || target.id}" (${target.w.toFixed(0)} px) zooms it to the full width (${z ? z.w.toFixed(0) : '?'} px)`,
          `data-zoom ${zoom}, frame ${JSON.stringify(z)}`);
        const anc = after.filter((f) => f.anc);
        expect(anc.some((f) => f.id === '0'), 'flame graph: the zoomed frame\'s ancestors stay above it, dimmed', JSON.stringify(anc.slice(0, 3)));
        await page.mouse.move(0, 0);
        await (await page.$('#flame')).screenshot({ path: path.join(shots, 'html-flame-zoomed.png') });
        await page.click('#flame-reset');
        const r2 = await page.$eval('#flame-graph', (g) => g.dataset.zoom);
        expect(r2 === '0', 'flame graph: "Reset zoom" shows the whole build again', `data-zoom ${r2}`);
      }
      // search: the first step frame's name, matched in full
      const step = before.find((f) => f.top > 0 && f.name) || {};
      const q = (step.name || '').slice(0, 40);
      await page.fill('#flame-search', q);
      const hits = (await frames()).filter((f) => f.match);
      const share = parseFloat(await page.$eval('#flame-matched', (e) => e.dataset.share));
      const msg = await page.textContent('#flame-matched');
      expect(q && hits.length >= 1 && hits.every((h) => !h.name || h.name.toLowerCase().includes(q.toLowerCase())) && share > 0 && share <= 1 && /%/.test(msg),
        `flame graph: searching "${q}" highlights ${hits.length} frame(s): "${msg}"`, `share ${share}, hits ${JSON.stringify(hits.slice(0, 3))}`);
      await page.fill('#flame-search', 'no frame is called this');
      const none = (await frames()).filter((f) => f.match).length;
      expect(none === 0, 'flame graph: a search nothing matches highlights nothing', `${none} highlighted`);
      await page.fill('#flame-search', '');
    }

    expect(!errors.length, 'page: no console error or warning, no exception', errors.slice(0, 5).join('; '));
    expect(!requests.length, 'page: no network request (nothing but the file itself)', requests.slice(0, 5).join(' '));
  } catch (e) {
    notok('html report in chromium', e.stack || e);
  } finally {
    if (browser) await browser.close();
  }
  process.exitCode = failed ? 1 : 0;
})();
