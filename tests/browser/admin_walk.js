#!/usr/bin/env node
// admin_walk.js PORT PASSWORD OUTDIR: walks the dashboard in Debian's
// Chromium as each role (accounts <role>@walk.example made by `wm users
// add`, all with PASSWORD). For each: logs in at /admin/login, reads the
// navigation and opens every page it lists, plus the first detail page
// linked from the lists (a lead, a customer, a webhook event), and checks:
//   - no console error, page error or failed (>= 400) request;
//   - no request leaving the origin (data: excepted);
//   - no alert/confirm dialog (the hostile lead, customer and review are
//     seeded to try), and the hostile strings shown as text where seeded;
//   - the overview draws its charts (inline SVG);
//   - a viewer finds no edit control (no form posting anywhere but logout)
//     and gets 403 on forced POSTs carrying its valid CSRF token;
//   - CSRF missing or wrong on a POST by an admin: 403.
// Screenshots of each page at 1280 and 390 px wide go to OUTDIR (viewer
// and super_admin); a page wider than the 390 px viewport is reported as a
// WARN line.
// Exit status 1 on any failure, each printed.
// env: CHROMIUM=/usr/bin/chromium
'use strict';

const fs = require('fs');
const path = require('path');
const walker = require('./walk');

const [port, password, outdir] = process.argv.slice(2);
if (!port || !password || !outdir) {
  console.error('usage: admin_walk.js PORT PASSWORD OUTDIR');
  process.exit(2);
}
const origin = `http://127.0.0.1:${port}`;
const ROLES = ['viewer', 'editor', 'admin', 'super_admin'];
const HOSTILE_LEAD = '<img src=x onerror=alert(1)>';
const HOSTILE_CUSTOMER = 'Eve <script>alert(3)</script>';
const SCREENSHOT_ROLES = new Set(['viewer', 'super_admin']);

let failures = 0;
function fail(msg) {
  failures++;
  console.error(`admin_walk: FAIL: ${msg}`);
}

function slug(p) {
  return p.replace(/^\/admin\/?/, '').replace(/[^\w]+/g, '-').replace(/^-|-$/g, '') || 'overview';
}

async function login(context, role) {
  const page = await context.newPage();
  await page.goto(`${origin}/admin/login`);
  await page.fill('input[name=email]', `${role}@walk.example`);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  if (!page.url().startsWith(`${origin}/admin/`) || page.url().includes('/login')) {
    throw new Error(`${role}: login did not reach the dashboard (${page.url()})`);
  }
  return page;
}

// The checks every page gets; `seen` collects problems reported by the
// page's event handlers while it loads.
async function visit(page, role, href, seen) {
  seen.length = 0;
  const res = await page.goto(origin + href, { waitUntil: 'load', timeout: 120000 });
  if (!res || res.status() !== 200) fail(`${role} ${href}: status ${res && res.status()}`);
  await page.waitForTimeout(100);
  for (const s of seen) fail(`${role} ${href}: ${s}`);
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  const vw = page.viewportSize().width;
  // Reported, not failed, while pages of the dashboard still overflow at
  // 390 px (the overview's and a lead's, when this was written).
  if (wide > vw + 1) console.log(`admin_walk: WARN: ${role} ${href}: the page is ${wide}px wide at a ${vw}px viewport`);
  if (role === 'viewer') {
    const posts = await page.$$eval('form', (fs) => fs.filter((f) => (f.getAttribute('method') || '').toLowerCase() === 'post')
      .map((f) => f.getAttribute('action')).filter((a) => a !== '/admin/logout'));
    if (posts.length) fail(`viewer ${href}: edit controls: forms posting to ${posts.join(', ')}`);
  }
}

async function walk(browser, role) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const seen = [];
  const page = await login(context, role);
  walker.watch(page, (s) => seen.push(s), { origin });

  await page.goto(`${origin}/admin/`);
  const nav = await page.$$eval('header nav a', (as) => as.map((a) => a.getAttribute('href')));
  console.log(`admin_walk: ${role}: nav ${nav.join(' ')}`);
  if (nav.length < 5) fail(`${role}: the nav lists only ${nav.length} pages`);
  if ((role === 'super_admin') !== nav.includes('/admin/users')) fail(`${role}: Users in the nav: ${nav.includes('/admin/users')}`);

  // Detail pages reached from the lists.
  const pages = [...nav];
  for (const [list, pattern] of [['/admin/leads', /^\/admin\/leads\/[0-9a-f-]{36}$/],
    ['/admin/customers', /^\/admin\/customers\/[0-9a-f-]{36}$/], ['/admin/webhooks', /^\/admin\/webhooks\/\d+$/]]) {
    if (!nav.includes(list)) continue;
    await page.goto(origin + list);
    const hrefs = await page.$$eval('main a', (as) => as.map((a) => a.getAttribute('href')));
    const first = hrefs.find((h) => pattern.test(h || ''));
    if (first) pages.push(first);
    else fail(`${role}: no detail link on ${list}`);
  }

  for (const href of pages) {
    // One page's failure (a timeout on a busy machine) is reported, and the
    // walk goes on with the next.
    try {
      await checkPage(page, role, href, seen);
    } catch (e) {
      fail(`${role} ${href}: ${e.message}`);
    }
  }
  await forcedPosts(page, role);
  console.log(`admin_walk: ${role}: ${pages.length} pages checked`);
  await context.close();
}

async function checkPage(page, role, href, seen) {
  for (const width of SCREENSHOT_ROLES.has(role) ? [1280, 390] : [1280]) {
    await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
    await visit(page, role, href, seen);
    if (SCREENSHOT_ROLES.has(role)) {
      await walker.screenshot(page, outdir, `${role}-${slug(href)}-${width}`);
    }
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  const text = await page.textContent('main');
  if (href === '/admin/') {
    const charts = await page.$$eval('main svg', (s) => s.filter((e) => e.getBoundingClientRect().width > 0).length);
    if (charts < 2) fail(`${role}: the overview draws ${charts} charts`);
    else console.log(`admin_walk: ${role}: the overview draws ${charts} SVG charts`);
  }
  if (href === '/admin/leads' && !text.includes(HOSTILE_LEAD)) fail(`${role}: the hostile lead's name is not shown as text on ${href}`);
  if (/^\/admin\/leads\/./.test(href) && !text.includes('</script>')) fail(`${role}: the review with </script> is not shown as text on ${href}`);
  if (href === '/admin/customers' && !text.includes(HOSTILE_CUSTOMER)) fail(`${role}: the hostile customer is not shown as text on ${href}`);
  if (/^\/admin\/webhooks\/\d+$/.test(href) && !text.includes('</script>')) fail(`${role}: the raw body is not shown as text on ${href}`);
}

// Forced POSTs with the session's own, valid CSRF token: refused below the
// route's role; and an admin's POST without or with a wrong token.
async function forcedPosts(page, role) {
  const csrf = await page.getAttribute('form[action="/admin/logout"] input[name=csrf]', 'value');
  const post = (p, form) => page.request.post(origin + p, { form, maxRedirects: 0, failOnStatusCode: false });
  const ids = JSON.parse(fs.readFileSync(path.join(outdir, 'ids.json'), 'utf8'));
  const mutations = [
    ['/admin/jobs/' + ids.job + '/retry', 'editor'],
    ['/admin/webhooks/' + ids.event + '/replay', 'admin'],
    ['/admin/subscriptions/' + ids.subscription + '/cancel', 'admin'],
    ['/admin/payments/' + ids.payment + '/refund', 'admin'],
    ['/admin/customers/' + ids.customer + '/portal-link', 'admin'],
    ['/admin/users', 'super_admin'],
  ];
  const rank = (r) => ROLES.indexOf(r);
  for (const [p, least] of mutations) {
    if (rank(role) >= rank(least)) continue;
    const res = await post(p, { csrf });
    if (res.status() !== 403) fail(`${role}: a forced POST ${p} (needs ${least}) answered ${res.status()}, not 403`);
  }
  if (role === 'admin') {
    for (const [what, form] of [['missing', {}], ['wrong', { csrf: (csrf[0] === 'x' ? 'y' : 'x') + csrf.slice(1) }]]) {
      const res = await post('/admin/webhooks/' + ids.event + '/replay', form);
      if (res.status() !== 403) fail(`admin: CSRF ${what} on a replay answered ${res.status()}, not 403`);
    }
  }
}

async function main() {
  fs.mkdirSync(outdir, { recursive: true });
  const browser = await walker.launch();
  try {
    for (const role of ROLES) {
      try {
        await walk(browser, role);
      } catch (e) {
        fail(`${role}: ${e.stack || e}`);
      }
    }
  } finally {
    await browser.close();
  }
  if (failures) {
    console.error(`admin_walk: ${failures} failure(s)`);
    process.exit(1);
  }
  console.log(`admin_walk: ok (screenshots in ${outdir})`);
}

main().catch((e) => { console.error(e); process.exit(1); });
