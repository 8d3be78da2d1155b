#!/usr/bin/env node
// Loads generated sites in Debian's Chromium (playwright-core, no browser
// download) and fails when a page
//   - logs a console error or throws (CSP violations are console errors),
//   - requests anything from another origin than its own (data: is fine),
//   - has a request fail or answers >= 400,
//   - has a script other than JSON-LD, an inline event handler, not exactly
//     one h1, or scrolls sideways at phone width (390 px) or desktop width.
//
// usage:
//   node site_check.js URL...                    e.g. http://joes.localhost:8080/
//   node site_check.js --serve [--csp FILE] [--screenshots DIR] FILE.html...
//       serves the files from 127.0.0.1 on a free port, each with the
//       Content-Security-Policy in FILE (render.csp(), written by
//       render_samples.lua), so the check runs under the server's policy.
// env: CHROMIUM=/usr/bin/chromium
'use strict';

const http = require('http');
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function parseArgs(argv) {
  const opts = { serve: false, csp: null, screenshots: null, targets: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--serve') opts.serve = true;
    else if (a === '--csp') opts.csp = fs.readFileSync(argv[++i], 'utf8').trim();
    else if (a === '--screenshots') opts.screenshots = argv[++i];
    else if (a === '-h' || a === '--help') {
      console.log(fs.readFileSync(__filename, 'utf8').split('\n').slice(1, 18).join('\n'));
      process.exit(0);
    } else opts.targets.push(a);
  }
  if (opts.targets.length === 0) {
    console.error('site_check: no URL or file given (--help)');
    process.exit(2);
  }
  return opts;
}

// A minimal static server for --serve: GET /<index> answers file <index>.
function serve(files, csp) {
  return new Promise((resolve) => {
    const server = http.createServer((req, res) => {
      const idx = Number((req.url || '').replace(/^\/(\d+)\/.*$/, '$1'));
      const file = files[idx];
      if (!/^\/\d+\/$/.test(req.url || '') || !file) {
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('not found\n');
        return;
      }
      const headers = { 'Content-Type': 'text/html; charset=utf-8', 'X-Content-Type-Options': 'nosniff' };
      if (csp) headers['Content-Security-Policy'] = csp;
      res.writeHead(200, headers);
      res.end(fs.readFileSync(file));
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

async function checkPage(browser, url, label, width, height, shotDir) {
  const problems = [];
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  const origin = new URL(url).origin;
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('request', (req) => {
    const u = req.url();
    if (u.startsWith('data:')) return;
    let o;
    try { o = new URL(u).origin; } catch (e) { o = 'invalid'; }
    if (o !== origin) problems.push(`request to another origin: ${u}`);
  });
  page.on('requestfailed', (req) => {
    if (!req.url().startsWith('data:')) problems.push(`request failed: ${req.url()} ${req.failure() && req.failure().errorText}`);
  });
  page.on('response', (res) => {
    if (res.status() >= 400) problems.push(`HTTP ${res.status()} for ${res.url()}`);
  });
  const res = await page.goto(url, { waitUntil: 'load', timeout: 30000 });
  if (!res) problems.push('no response');
  // Let late requests (fonts, favicons) show up.
  await page.waitForTimeout(300);
  const facts = await page.evaluate(() => {
    const all = Array.from(document.querySelectorAll('*'));
    const handlers = [];
    for (const el of all) {
      for (const a of Array.from(el.attributes)) {
        if (/^on/i.test(a.name)) handlers.push(`${el.tagName.toLowerCase()}[${a.name}]`);
      }
    }
    return {
      scripts: Array.from(document.scripts).filter((s) => s.type !== 'application/ld+json').length,
      handlers,
      h1: document.querySelectorAll('h1').length,
      overflow: document.documentElement.scrollWidth - window.innerWidth,
      title: document.title,
      lang: document.documentElement.lang,
    };
  });
  if (facts.scripts > 0) problems.push(`${facts.scripts} executable script element(s)`);
  if (facts.handlers.length > 0) problems.push(`inline event handlers: ${facts.handlers.join(', ')}`);
  if (facts.h1 !== 1) problems.push(`${facts.h1} h1 elements`);
  if (facts.overflow > 1) problems.push(`scrolls sideways by ${facts.overflow}px at ${width}px`);
  if (!facts.title) problems.push('empty title');
  if (!facts.lang) problems.push('no lang');
  if (shotDir) {
    fs.mkdirSync(shotDir, { recursive: true });
    await page.screenshot({ path: path.join(shotDir, `${label}-${width}.png`), fullPage: true });
  }
  await context.close();
  return problems;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  let server = null;
  let targets = opts.targets.map((t) => ({ url: t, label: t.replace(/[^\w.-]+/g, '_') }));
  if (opts.serve) {
    server = await serve(opts.targets, opts.csp);
    const port = server.address().port;
    targets = opts.targets.map((f, i) => ({ url: `http://127.0.0.1:${port}/${i}/`, label: path.basename(f, '.html') }));
  }
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ARGS,
  });
  let failed = 0;
  let passed = 0;
  try {
    for (const t of targets) {
      for (const [w, h] of [[390, 844], [1280, 900]]) {
        const problems = await checkPage(browser, t.url, t.label, w, h, opts.screenshots);
        if (problems.length) {
          failed++;
          console.log(`FAIL ${t.label} @${w}px (${t.url})`);
          for (const p of problems) console.log(`  - ${p}`);
        } else {
          passed++;
          console.log(`ok   ${t.label} @${w}px`);
        }
      }
    }
  } finally {
    await browser.close();
    if (server) server.close();
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
