#!/usr/bin/env node
// SPDX-License-Identifier: BSD-2-Clause
// Loads layerprof's exports in the real consumers, in headless Debian
// Chromium driven by playwright-core:
//   - speedscope (served from node_modules by serve.js on 127.0.0.1) opens
//     the folded stacks and the Chrome trace through #profileURL=;
//   - the SVG flame graph is opened directly (file://).
//
//   node consumers.js --dir DIR --folded F --json J --svg S [--speedscope F.speedscope.json]
//                     [--expect NAME]... [--shots DIR]
//
// How we read what speedscope shows: its flame chart is a <canvas>, so
//  1. document.title becomes "<file> - speedscope" once the import worked;
//  2. the Sandwich view (key "3") is a DOM table of every frame; Ctrl+F opens
//     its search box, and typing a step name filters the table to the rows
//     whose symbol contains it: we read those rows' text and require a row
//     that starts with the step name (Chrome events show as "name {args}");
//  3. CanvasRenderingContext2D.fillText is wrapped before the page loads, so
//     we also see the labels the flame chart really drew (they are cut with
//     "…" when narrow, so only a prefix is required there).
// Step names come from the files themselves: the folded file's second frame
// and the Chrome trace's step slice on the first step's track (tid 1); --expect adds
// names that must be among them (known names of the synthetic trace).
// Prints "ok NAME", "not ok NAME: WHY" or "skip NAME: WHY", one per line.
'use strict';
const fs = require('fs');
const path = require('path');
const { launch } = require('./chromium');
const { spawn } = require('child_process');

const args = { expect: [] };
for (let i = 2; i < process.argv.length; i++) {
  const k = process.argv[i].replace(/^--/, '');
  const v = process.argv[++i];
  if (k === 'expect') args.expect.push(v);
  else args[k] = v;
}
const shots = args.shots || args.dir;
let failed = 0;
const ok = (n) => console.log(`ok ${n}`);
const notok = (n, why) => { failed++; console.log(`not ok ${n}: ${String(why).replace(/\n/g, ' ')}`); };

// The folded writer's sanitizing of a frame (export.c lp_folded_frame).
const foldedFrame = (s) => s.replace(/;/g, ':').replace(/[\x00-\x1f\x7f]/g, '?').replace(/\s+/g, ' ').trim() || '?';

// Step frames of the folded file, widest first; `min` drops the ones under
// that share of the total (an SVG does not draw frames under 0.1 px).
function foldedSteps(file, min = 0) {
  const steps = new Map();
  let total = 0;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const frames = line.replace(/ [0-9]+$/, '').split(';');
    const w = Number(line.match(/ ([0-9]+)$/)[1]);
    total += w;
    if (frames.length > 1 && frames[1] !== '(outside build steps)') steps.set(frames[1], (steps.get(frames[1]) || 0) + w);
  }
  return [...steps.entries()].filter((e) => e[1] >= min * total).sort((a, b) => b[1] - a[1]).map((e) => e[0]);
}

function jsonSteps(file) {
  const j = JSON.parse(fs.readFileSync(file, 'utf8'));
  const lane1 = [], all = [];
  for (const e of j.traceEvents) {
    if (e.ph === 'X' && e.pid === 1 && String(e.cat).startsWith('step')) {
      all.push(e.name);
      if (e.tid === 1) lane1.push(e.name);
    }
  }
  return { lane1, all };
}

async function startServer(dir) {
  const srv = spawn(process.execPath, [path.join(__dirname, 'serve.js'), dir, '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    let buf = '';
    srv.stdout.on('data', (d) => {
      buf += d;
      const m = buf.match(/listening (\d+)/);
      if (m) resolve(Number(m[1]));
    });
    srv.on('exit', (c) => reject(new Error(`serve.js exited ${c}`)));
    setTimeout(() => reject(new Error('serve.js did not start')), 10000);
  });
  return { srv, port };
}

// A duration as speedscope prints it with a time unit ("3.09s", "105.80ms").
const timeUnit = /[0-9][0-9.,]*\s?(ns|µs|us|ms|s|min|h)\b/;

// title: what document.title starts with once imported (default: the file name);
// unit: the sandwich table's rows must show times with their unit.
async function speedscope(ctx, port, file, steps, label, title, unit) {
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.addInitScript(() => {
    window.__drawn = [];
    const orig = CanvasRenderingContext2D.prototype.fillText;
    CanvasRenderingContext2D.prototype.fillText = function (t, ...rest) {
      if (window.__drawn.length < 100000) window.__drawn.push(String(t));
      return orig.call(this, t, ...rest);
    };
  });
  const base = path.basename(file);
  const url = `http://127.0.0.1:${port}/#profileURL=${encodeURIComponent(`http://127.0.0.1:${port}/files/${base}`)}`;
  await page.goto(url);
  try {
    await page.waitForFunction(([t, exact]) => exact ? document.title === `${t} - speedscope`
      : document.title.startsWith(t) && document.title.endsWith(' - speedscope'), [title || base, !title], { timeout: 30000 });
    ok(`speedscope ${label}: imported (title "${await page.title()}")`);
  } catch (e) {
    notok(`speedscope ${label}: imported`, `title is "${await page.title()}"; ${errors.join('; ')}`);
    await page.screenshot({ path: path.join(shots, `speedscope-${label}-failed.png`) });
    await page.close();
    return;
  }
  await page.waitForTimeout(800);
  const header = await page.evaluate(() => document.body.innerText.split('\n').slice(0, 3).join(' | '));
  await page.screenshot({ path: path.join(shots, `speedscope-${label}.png`) });
  // the flame chart drew step labels (possibly cut with "…")
  const drawn = await page.evaluate(() => window.__drawn);
  const prefixes = steps.map((s) => s.slice(0, 5));
  const hit = drawn.find((d) => prefixes.some((p) => d.startsWith(p)));
  if (hit) ok(`speedscope ${label}: flame chart drew step labels (e.g. "${hit.slice(0, 60)}")`);
  else notok(`speedscope ${label}: flame chart drew step labels`, `drawn: ${JSON.stringify([...new Set(drawn)].slice(0, 20))}; header ${header}`);
  // sandwich table + search: every step name
  await page.keyboard.press('3');
  await page.waitForTimeout(500);
  let missing = [], unitRow = null;
  for (const s of steps) {
    await page.keyboard.press('Control+f');
    await page.waitForTimeout(100);
    await page.keyboard.press('Control+a');
    await page.keyboard.type(s);
    await page.waitForTimeout(300);
    const rows = await page.evaluate(() => [...document.querySelectorAll('tr')].map((r) => r.innerText.split('\t').pop().trim()));
    if (!rows.some((r) => r === s || r.startsWith(s + ' {'))) missing.push(`${s} (rows: ${JSON.stringify(rows.slice(0, 4))})`);
    if (unit && !unitRow) {
      const full = await page.evaluate(() => [...document.querySelectorAll('tr')].map((r) => r.innerText.replace(/\s+/g, ' ')));
      unitRow = full.find((r) => r.includes(s) && timeUnit.test(r)) || null;
    }
    await page.keyboard.press('Escape');
  }
  if (!missing.length) ok(`speedscope ${label}: sandwich view lists all ${steps.length} step names`);
  else notok(`speedscope ${label}: sandwich view lists the step names`, `missing ${missing.join('; ')}`);
  if (unit) {
    if (unitRow) ok(`speedscope ${label}: times shown with their unit ("${unitRow.slice(0, 80)}")`);
    else notok(`speedscope ${label}: times shown with their unit`, 'no sandwich row of a step shows a duration with a unit');
  }
  // keep a picture of the search for the first step
  await page.keyboard.press('Control+f');
  await page.keyboard.press('Control+a');
  await page.keyboard.type(steps[0]);
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(shots, `speedscope-${label}-sandwich.png`) });
  await page.keyboard.press('Escape');
  await page.keyboard.press('1');
  if (errors.length) notok(`speedscope ${label}: no page errors`, errors.join('; '));
  await page.close();
}

async function svg(ctx, file, steps) {
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.setViewportSize({ width: 1200, height: 400 });
  await page.goto('file://' + path.resolve(file));
  const info = await page.evaluate(() => ({
    root: document.documentElement.nodeName,
    parseError: !!document.querySelector('parsererror'),
    titles: [...document.querySelectorAll('g.f > title')].map((t) => t.textContent),
    subtitle: (document.getElementById('subtitle') || {}).textContent || '',
  }));
  if (info.root !== 'svg' || info.parseError) {
    notok('svg: Chromium parses it as SVG', `root ${info.root}, parsererror ${info.parseError}`);
    await page.close();
    return;
  }
  ok(`svg: Chromium parses it as SVG (${info.titles.length} frames)`);
  const missing = steps.filter((s) => !info.titles.some((t) => t.startsWith(s + ' \u2014 ')));
  if (!missing.length) ok(`svg: a frame's <title> names each of ${steps.length} steps (e.g. "${info.titles.find((t) => t.startsWith(steps[0]))}")`);
  else notok('svg: frame titles name the steps', `missing ${JSON.stringify(missing)}; titles ${JSON.stringify(info.titles.slice(0, 8))}`);
  if (/Width = /.test(info.subtitle)) ok(`svg: subtitle says what the width measures ("${info.subtitle.slice(0, 70)}...")`);
  else notok('svg: subtitle', info.subtitle);
  await page.screenshot({ path: path.join(shots, 'svg.png') });
  // click-to-zoom works: the widest step frame fills the width
  const zoomed = await page.evaluate((name) => {
    const g = [...document.querySelectorAll('g.f')].find((x) => x.querySelector('title').textContent.startsWith(name + ' \u2014 '));
    if (!g) return null;
    g.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    return Number(g.querySelector('rect').getAttribute('width'));
  }, steps[0]);
  if (zoomed && zoomed > 1100) ok(`svg: click on "${steps[0]}" zooms it to the full width (${zoomed}px)`);
  else notok('svg: click to zoom', `width after click: ${zoomed}`);
  await page.screenshot({ path: path.join(shots, 'svg-zoomed.png') });
  if (errors.length) notok('svg: no script errors', errors.join('; '));
  await page.close();
}

(async () => {
  let pw;
  try {
    pw = require('playwright-core');
  } catch (e) {
    console.log(`skip consumers: playwright-core is not installed (npm ci in tests/exports): ${e.message}`);
    return;
  }
  const fsteps = foldedSteps(args.folded);
  const js = jsonSteps(args.json);
  const jsAllFolded = js.all.map(foldedFrame);
  if (!fsteps.length) notok('folded: has step frames', 'no build;<step>;... line');
  const notInJson = fsteps.filter((s) => !jsAllFolded.includes(s));
  if (notInJson.length) notok('folded and chrome exports name the same steps', JSON.stringify(notInJson));
  else ok(`folded and chrome exports name the same steps (${fsteps.length} in the flame graph, ${js.all.length} in the trace)`);
  for (const e of args.expect) {
    if (js.all.includes(e) && fsteps.includes(foldedFrame(e))) ok(`expected step "${e}" exported`);
    else notok(`expected step "${e}" exported`, `chrome ${JSON.stringify(js.all)}, folded ${JSON.stringify(fsteps)}`);
  }
  const { srv, port } = await startServer(args.dir);
  let browser;
  let ctx;
  try {
    browser = await launch(pw, { width: 1400, height: 800 });
    ctx = browser.ctx;
    await speedscope(ctx, port, args.folded, fsteps.slice(0, 12), 'folded');
    await speedscope(ctx, port, args.json, js.lane1.slice(0, 12), 'chrome-json');
    if (args.speedscope) {
      // the flame tree in speedscope's own format: its profile's name, a unit on the axis
      const ssteps = fsteps.map((f) => js.all.find((s) => foldedFrame(s) === f)).filter(Boolean).slice(0, 12);
      await speedscope(ctx, port, args.speedscope, ssteps.length ? ssteps : fsteps.slice(0, 12), 'speedscope-json',
        'layerprof time: ', true);
    }
    const wide = foldedSteps(args.folded, 0.002);
    const svgSteps = wide.map((f) => js.all.find((s) => foldedFrame(s) === f)).filter(Boolean).slice(0, 12);
    await svg(ctx, args.svg, svgSteps.length ? svgSteps : fsteps.slice(0, 12));
  } catch (e) {
    notok('consumers', e.stack || e);
  } finally {
    if (browser) await browser.close();
    srv.kill('SIGTERM');
  }
  process.exitCode = failed ? 1 : 0;
})();
