// Scores one page with Lighthouse on Debian's Chromium, for
// scripts/lib/lighthouse.lua, which runs this through wm.exec. chrome-launcher
// starts the browser detached from this process: on a timeout lighthouse.lua
// kills every process carrying the run's mark (kill_marked), and when wm
// itself dies the browser follows this process (chromium.sh: setpriv
// --pdeathsig).
//
//   node run.mjs < {"html": "...", "headers": {...}, "robots": "...",
//                   "form_factor": "mobile" | "desktop"}
//   stdout: {"scores": {"performance": 100, "accessibility": 100,
//            "best-practices": 100, "seo": 100}, "failed": [{id, title, category}], "lhr": {...}}
//
// The page is served by a server of this process on 127.0.0.1 (a random
// port) with the headers the caller gives (the production ones: CSP,
// nosniff...), gzip when asked, /robots.txt as given and /favicon.ico 204,
// so the audits that read HTTP (is-crawlable, robots-txt, compression, CSP)
// see what a visitor would, without a wm HTTP server on this host.
import http from 'node:http';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import lighthouse from 'lighthouse';
import * as chromeLauncher from 'chrome-launcher';

const CATEGORIES = ['performance', 'accessibility', 'best-practices', 'seo'];

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

function serve(input) {
  const page = Buffer.from(input.html, 'utf8');
  const gz = zlib.gzipSync(page, { level: 9 });
  const headers = input.headers || {};
  const server = http.createServer((req, res) => {
    const path = req.url.split('?')[0];
    if (path === '/' || path === '/index.html') {
      const h = { ...headers, 'Content-Type': 'text/html; charset=utf-8', Vary: 'Accept-Encoding' };
      const gzip = /\bgzip\b/.test(req.headers['accept-encoding'] || '');
      if (gzip) h['Content-Encoding'] = 'gzip';
      res.writeHead(200, h);
      res.end(req.method === 'HEAD' ? undefined : (gzip ? gz : page));
    } else if (path === '/robots.txt' && typeof input.robots === 'string') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(input.robots);
    } else if (path === '/favicon.ico') {
      res.writeHead(204);
      res.end();
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('No site here.\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

async function main() {
  const input = await readStdin();
  const server = await serve(input);
  const url = `http://127.0.0.1:${server.address().port}/`;
  const chrome = await chromeLauncher.launch({
    // (It runs $CHROME_PATH, and dies with this process.)
    chromePath: fileURLToPath(new URL('./chromium.sh', import.meta.url)),
    chromeFlags: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
      '--no-first-run', '--no-default-browser-check', '--disable-extensions'],
    logLevel: 'silent',
  });
  try {
    const desktop = input.form_factor === 'desktop';
    const flags = { port: chrome.port, output: 'json', logLevel: 'error', onlyCategories: CATEGORIES };
    const config = desktop ? (await import('lighthouse/core/config/desktop-config.js')).default : undefined;
    const result = await lighthouse(url, flags, config);
    const lhr = result.lhr;
    if (lhr.runtimeError) throw new Error(`${lhr.runtimeError.code}: ${lhr.runtimeError.message}`);
    const scores = {};
    const failed = [];
    for (const id of CATEGORIES) {
      const cat = lhr.categories[id];
      scores[id] = cat && cat.score !== null ? Math.round(cat.score * 100) : null;
      for (const ref of (cat ? cat.auditRefs : [])) {
        const a = lhr.audits[ref.id];
        if (ref.weight > 0 && a && a.score !== null && a.score < 1) {
          failed.push({ id: ref.id, title: a.title, category: id, score: a.score });
        }
      }
    }
    // (process.exit below would cut a pipe's pending output short: wait
    // until the whole report is handed over.)
    await new Promise((resolve) => process.stdout.write(JSON.stringify({ scores, failed, lhr }), resolve));
  } finally {
    await chrome.kill();
    server.close();
  }
}

main().then(() => process.exit(0), (e) => {
  process.stderr.write(`lighthouse: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
