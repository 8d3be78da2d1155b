#!/usr/bin/env node
// purchase.js PORT SUBDOMAIN: buys a preview site through the offline
// checkout in Debian's Chromium, as its owner would: the site at
// http://SUBDOMAIN.localhost:PORT/ -> "Claim this site" -> the offer ->
// "Continue to payment" -> this host's /pay page -> "Pay with test card" ->
// back on the site (?checkout=success); then reloads the site until it is
// the customer's own (no preview banner, no claim link, no noindex: the
// signed webhooks were applied), for at most 30 s. Fails on any console or
// page error on the way.
// env: CHROMIUM=/usr/bin/chromium
'use strict';

const { chromium } = require('playwright-core');

const [port, sub] = process.argv.slice(2);
if (!port || !sub) {
  console.error('usage: purchase.js PORT SUBDOMAIN');
  process.exit(2);
}
const site = `http://${sub}.localhost:${port}/`;

function fail(msg) {
  console.error(`purchase: FAIL: ${msg}`);
  process.exitCode = 1;
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const errors = [];
  try {
    const page = await browser.newPage();
    page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()} (${page.url()})`); });
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));

    await page.goto(site, { waitUntil: 'load' });
    await page.click('a.wm-claim');
    await page.waitForURL(/\/claim\/[\w-]+$/);
    const offer = await page.textContent('main');
    if (!/Q800\.00 per month/.test(offer) || !/Cancel any time/.test(offer)) fail(`the offer lacks price or terms: ${offer}`);
    console.log(`purchase: claim page ${page.url()}`);

    await page.click('button:has-text("Continue to payment")');
    await page.waitForURL(/\/pay\/ch_\w+$/);
    console.log(`purchase: checkout ${page.url()}`);
    if (!/Q800\.00/.test(await page.textContent('main'))) fail('the checkout page lacks the amount');

    await page.click('button:has-text("Pay with test card")');
    await page.waitForURL((u) => u.href.startsWith(site), { timeout: 20000 });
    console.log(`purchase: back on ${page.url()}`);

    let live = false;
    for (let i = 0; i < 60 && !live; i++) {
      await page.goto(site, { waitUntil: 'load' });
      live = await page.evaluate(() => !document.querySelector('.wm-claim') &&
        !document.body.classList.contains('wm-has-preview') && !document.querySelector('meta[name="robots"]'));
      if (!live) await page.waitForTimeout(500);
    }
    if (!live) fail('the site still shows the preview banner 30 s after the payment');
    else console.log('purchase: the site is live (no preview banner, no claim link, no noindex)');

    // The customer portal: the welcome email's link (read from the outbox
    // under $WM_PATHS_VAR, as the buyer would from their inbox) -> "Open my
    // account" -> /portal shows the plan as active, at a phone's width.
    const link = await portalLink(30000);
    if (!link) {
      fail('no portal link in the outbox 30 s after the payment');
    } else {
      console.log('purchase: portal link from the outbox');
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(link, { waitUntil: 'load' });
      await page.click('button:has-text("Open my account")');
      await page.waitForURL(/\/portal$/);
      const status = await page.textContent('.status');
      if (status !== 'active') fail(`the portal shows status ${JSON.stringify(status)}, not "active"`);
      else console.log('purchase: the portal shows the subscription active');
      const wide = await page.evaluate(() => document.documentElement.scrollWidth);
      if (wide > 390) fail(`the portal is ${wide} px wide at a 390 px viewport`);
      if (process.env.WM_TEST_SCREENSHOTS) {
        await page.screenshot({ path: `${process.env.WM_TEST_SCREENSHOTS}/portal-390.png`, fullPage: true });
      }
    }
  } finally {
    await browser.close();
  }
  for (const e of errors) fail(e);
}

// The newest /portal/login/ link in the outbox's .eml files (quoted-printable
// decoded), waiting up to `ms` for the welcome email's job to write it.
async function portalLink(ms) {
  const fs = require('fs');
  const path = require('path');
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

main().catch((e) => { fail(e.stack || String(e)); });
