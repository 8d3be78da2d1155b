#!/usr/bin/env node
// Photographs one generated page in Debian's Chromium and reports what the
// quality gate needs, in ONE browser launch, with no npm dependency: it
// speaks the DevTools protocol over --remote-debugging-pipe (fds 3 and 4).
//
// usage: node screenshot.js --html FILE --url URL --out DIR [--csp POLICY]
//                           [--chromium PATH] [--profile DIR]
//   The page is answered from FILE at URL (no server, no network: every
//   other request is answered 404 or blocked and reported), under the
//   Content-Security-Policy the server sends, so CSP violations show up as
//   console errors. Writes DIR/desktop.png (1280x800), DIR/mobile.png
//   (390x844) and DIR/thumb.png (320x200, the desktop view scaled) and
//   prints one JSON line: {load_time_ms, problems: [...], facts: {...}}.
//   The browser's profile is a fresh folder under --profile (default: the
//   system temp folder), removed after.
// Exit status: 0 photographed (problems or not), 1 failed.
'use strict';

const fs = require('fs');
const path = require('path');
const os = require('os');
const { spawn } = require('child_process');

const VIEWS = [
  { name: 'desktop', width: 1280, height: 800, mobile: false },
  { name: 'mobile', width: 390, height: 844, mobile: true },
];

function parseArgs(argv) {
  const o = { chromium: process.env.CHROMIUM || '/usr/bin/chromium', csp: '' };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, '');
    if (k === 'help' || k === 'h') {
      console.log(fs.readFileSync(__filename, 'utf8').split('\n').slice(1, 16).join('\n'));
      process.exit(0);
    }
    o[k] = argv[++i];
  }
  for (const k of ['html', 'url', 'out']) {
    if (!o[k]) {
      console.error(`screenshot: --${k} is required (--help)`);
      process.exit(2);
    }
  }
  return o;
}

// One browser over the pipe: send(method, params, sessionId) -> result;
// on(method, fn) for events (with their sessionId).
function connect(child) {
  const out = child.stdio[3];
  const inp = child.stdio[4];
  let nextId = 1;
  const waiting = new Map();
  const listeners = new Map();
  let buf = Buffer.alloc(0);
  inp.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    let end;
    while ((end = buf.indexOf(0)) >= 0) {
      const msg = JSON.parse(buf.subarray(0, end).toString('utf8'));
      buf = buf.subarray(end + 1);
      if (msg.id && waiting.has(msg.id)) {
        const { resolve, reject, method } = waiting.get(msg.id);
        waiting.delete(msg.id);
        if (msg.error) reject(new Error(`${method}: ${msg.error.message}`));
        else resolve(msg.result);
      } else if (msg.method && listeners.has(msg.method)) {
        for (const fn of listeners.get(msg.method)) fn(msg.params, msg.sessionId);
      }
    }
  });
  return {
    send(method, params, sessionId) {
      const id = nextId++;
      const msg = { id, method, params: params || {} };
      if (sessionId) msg.sessionId = sessionId;
      out.write(JSON.stringify(msg) + '\0');
      return new Promise((resolve, reject) => waiting.set(id, { resolve, reject, method }));
    },
    on(method, fn) {
      if (!listeners.has(method)) listeners.set(method, []);
      listeners.get(method).push(fn);
    },
  };
}

// The checks tests/browser/site_check.js runs on every page, in the page.
const FACTS = `(() => {
  const handlers = [];
  for (const el of document.querySelectorAll('*'))
    for (const a of el.attributes) if (/^on/i.test(a.name)) handlers.push(el.tagName.toLowerCase() + '[' + a.name + ']');
  const nav = performance.getEntriesByType('navigation')[0];
  return JSON.stringify({
    scripts: Array.from(document.scripts).filter((s) => s.type !== 'application/ld+json').length,
    handlers, h1: document.querySelectorAll('h1').length,
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    title: document.title, lang: document.documentElement.lang,
    load_ms: nav ? Math.round(nav.loadEventEnd - nav.startTime) : null,
  });
})()`;

// The browser and its profile folder, for the cleanup on failure.
let child = null;
let profile = null;

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const html = fs.readFileSync(o.html);
  const pageUrl = new URL(o.url).href;
  const origin = new URL(o.url).origin;
  fs.mkdirSync(o.out, { recursive: true });
  profile = fs.mkdtempSync(path.join(o.profile || os.tmpdir(), 'wm-shot-'));
  child = spawn(o.chromium, ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--disable-extensions', '--hide-scrollbars', '--mute-audio', '--remote-debugging-pipe',
    `--user-data-dir=${profile}`, 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let done = false;
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.on('error', (e) => {
    console.error(`screenshot: cannot start ${o.chromium}: ${e.message}`);
    process.exit(1);
  });
  exited.then((code) => {
    if (!done) {
      console.error(`screenshot: ${o.chromium} exited (${code}) early: ${stderr.trim()}`);
      process.exit(1);
    }
  });

  const cdp = connect(child);
  const problems = [];
  const note = (p) => { if (!problems.includes(p)) problems.push(p); };
  const { targetId } = await cdp.send('Target.createTarget', { url: 'about:blank' });
  const { sessionId: s } = await cdp.send('Target.attachToTarget', { targetId, flatten: true });

  cdp.on('Runtime.consoleAPICalled', (p) => {
    if (p.type === 'error') note(`console error: ${p.args.map((a) => a.value ?? a.description ?? '').join(' ')}`);
  });
  cdp.on('Runtime.exceptionThrown', (p) => note(`page error: ${p.exceptionDetails.text}`));
  // CSP violations and failed loads arrive as log entries.
  cdp.on('Log.entryAdded', (p) => {
    if (p.entry.level === 'error') note(`console error: ${p.entry.text}`);
  });
  cdp.on('Fetch.requestPaused', (p) => {
    const u = p.request.url;
    let reqOrigin;
    try { reqOrigin = new URL(u).origin; } catch (e) { reqOrigin = 'invalid'; }
    if (u === pageUrl) {
      const headers = [{ name: 'Content-Type', value: 'text/html; charset=utf-8' }];
      if (o.csp) headers.push({ name: 'Content-Security-Policy', value: o.csp });
      cdp.send('Fetch.fulfillRequest', { requestId: p.requestId, responseCode: 200, responseHeaders: headers,
        body: html.toString('base64') }, s).catch(() => {});
    } else if (reqOrigin === origin) {
      note(`request for a missing resource: ${u}`);
      cdp.send('Fetch.fulfillRequest', { requestId: p.requestId, responseCode: 404, body: '' }, s).catch(() => {});
    } else {
      note(`request to another origin: ${u}`);
      cdp.send('Fetch.failRequest', { requestId: p.requestId, errorReason: 'BlockedByClient' }, s).catch(() => {});
    }
  });
  let loaded = null;
  cdp.on('Page.loadEventFired', (_, sid) => { if (sid === s && loaded) loaded(); });

  await Promise.all(['Page.enable', 'Runtime.enable', 'Log.enable'].map((m) => cdp.send(m, {}, s)));
  await cdp.send('Fetch.enable', { patterns: [{ urlPattern: '*' }] }, s);

  const result = { load_time_ms: null, problems, facts: {} };
  for (const v of VIEWS) {
    await cdp.send('Emulation.setDeviceMetricsOverride',
      { width: v.width, height: v.height, deviceScaleFactor: 1, mobile: v.mobile }, s);
    const load = new Promise((resolve) => { loaded = resolve; });
    const nav = await cdp.send('Page.navigate', { url: pageUrl }, s);
    if (nav.errorText) throw new Error(`navigation failed: ${nav.errorText}`);
    await load;
    // Late requests (fonts, images below the fold) show up before the check.
    await new Promise((r) => setTimeout(r, 100));
    const ev = await cdp.send('Runtime.evaluate', { expression: FACTS, returnByValue: true }, s);
    const f = JSON.parse(ev.result.value);
    if (f.scripts > 0) note(`${f.scripts} executable script element(s)`);
    if (f.handlers.length > 0) note(`inline event handlers: ${f.handlers.join(', ')}`);
    if (f.h1 !== 1) note(`${f.h1} h1 elements`);
    if (f.overflow > 1) note(`scrolls sideways by ${f.overflow}px at ${v.width}px`);
    if (!f.title) note('empty title');
    if (!f.lang) note('no lang');
    result.facts[v.name] = f;
    if (v.name === 'desktop') result.load_time_ms = f.load_ms;
    const shot = await cdp.send('Page.captureScreenshot', { format: 'png' }, s);
    fs.writeFileSync(path.join(o.out, `${v.name}.png`), Buffer.from(shot.data, 'base64'));
    if (v.name === 'desktop') {
      const thumb = await cdp.send('Page.captureScreenshot', { format: 'png',
        clip: { x: 0, y: 0, width: v.width, height: v.height, scale: 0.25 } }, s);
      fs.writeFileSync(path.join(o.out, 'thumb.png'), Buffer.from(thumb.data, 'base64'));
    }
  }
  done = true;
  process.stdout.write(JSON.stringify(result) + '\n');
  await cdp.send('Browser.close').catch(() => {});
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
  // (A helper process may still be letting go of the profile: best effort.)
  try {
    fs.rmSync(profile, { recursive: true, force: true, maxRetries: 3 });
  } catch (e) { /* left in the temp folder */ }
}

main().catch((e) => {
  console.error(`screenshot: ${e.message}`);
  if (child) child.kill('SIGKILL');
  if (profile) {
    try { fs.rmSync(profile, { recursive: true, force: true }); } catch (e2) { /* best effort */ }
  }
  process.exit(1);
});
