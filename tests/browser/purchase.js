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
  } finally {
    await browser.close();
  }
  for (const e of errors) fail(e);
}

main().catch((e) => { fail(e.stack || String(e)); });
