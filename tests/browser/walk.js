// What the browser walks (purchase.js, admin_walk.js, support_walk.js)
// share: Debian's Chromium launched headless, a page's problems reported
// as they happen, screenshots, buying a preview site through the offline
// checkout as its owner would, and the portal's sign-in link from the
// outbox.
// env: CHROMIUM (default /usr/bin/chromium), WM_PATHS_VAR (the outbox's var folder)
'use strict';

const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

// Headless, and with nothing of Chromium's own reaching the network.
function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

// Calls report(message) for each console error, page error, response of
// 400 or more and dialog (dismissed: markup ran) on `page`. o.origin: each
// request leaving that origin (data: excepted) too. o.warn: Chromium's own
// /favicon.ico request's console error goes there, once, instead (a page
// that names no icon gets a 404 for it).
function watch(page, report, o = {}) {
  let favicon = false;
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    if (o.warn && /\/favicon\.ico$/.test(m.location().url || '')) {
      if (!favicon) o.warn(`${m.text()} for ${m.location().url}`);
      favicon = true;
      return;
    }
    report(`console: ${m.text()} (${page.url()})`);
  });
  page.on('pageerror', (e) => report(`page error: ${e.message} (${page.url()})`));
  page.on('response', (r) => { if (r.status() >= 400) report(`${r.status()} for ${r.url()} (on ${page.url()})`); });
  page.on('dialog', async (d) => {
    report(`a ${d.type()} dialog opened ("${d.message()}") on ${page.url()}: markup ran`);
    await d.dismiss().catch(() => {});
  });
  if (o.origin) {
    page.on('request', (r) => {
      const u = r.url();
      if (!u.startsWith(o.origin + '/') && !u.startsWith('data:')) report(`request leaving the origin: ${u}`);
    });
  }
}

// A full-page screenshot of `page` as DIR/NAME.png (a busy machine's long
// pages can take a minute).
function screenshot(page, dir, name) {
  return page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true, timeout: 120000 });
}

// buy(page, site): the preview site at URL `site` bought as its owner would:
// "Claim this site" -> the offer -> "Continue to payment" -> /pay ->
// "Pay with test card" -> back on the site; then the site reloaded until it
// is the customer's own (no claim link, no preview banner, no noindex: the
// signed webhooks were applied), for at most 30 s. Returns the claim page's
// URL and text (offer), the checkout's URL and text, the URL it came back
// to, and whether the site went live.
async function buy(page, site) {
  await page.goto(site, { waitUntil: 'load' });
  await page.click('a.wm-claim');
  await page.waitForURL(/\/claim\/[\w-]+$/);
  const claimUrl = page.url();
  const offer = await page.textContent('main');
  await page.click('button:has-text("Continue to payment")');
  await page.waitForURL(/\/pay\/ch_\w+$/);
  const payUrl = page.url();
  const checkout = await page.textContent('main');
  await page.click('button:has-text("Pay with test card")');
  await page.waitForURL((u) => u.href.startsWith(site), { timeout: 20000 });
  const back = page.url();
  let live = false;
  for (let i = 0; i < 60 && !live; i++) {
    await page.goto(site, { waitUntil: 'load' });
    live = await page.evaluate(() => !document.querySelector('.wm-claim') &&
      !document.body.classList.contains('wm-has-preview') && !document.querySelector('meta[name="robots"]'));
    if (!live) await page.waitForTimeout(500);
  }
  return { claimUrl, offer, payUrl, checkout, back, live };
}

// The newest /portal/login/ link in the outbox's .eml files (quoted-printable
// decoded), waiting up to `ms` for the welcome email's job to write it.
async function portalLink(ms) {
  const dir = path.join(process.env.WM_PATHS_VAR || 'var', 'outbox');
  for (const end = Date.now() + ms; Date.now() < end;) {
    const names = fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.endsWith('.eml') && !n.startsWith('.')).sort() : [];
    for (const n of names.reverse()) {
      const text = fs.readFileSync(path.join(dir, n), 'latin1').replace(/=\r?\n/g, '')
        .replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
      const m = text.match(/https?:\/\/[^\s"<>]+\/portal\/login\/[\w-]+/);
      if (m) return m[0];
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return null;
}

module.exports = { launch, watch, screenshot, buy, portalLink };
