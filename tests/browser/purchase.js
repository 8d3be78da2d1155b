#!/usr/bin/env node
// purchase.js PORT SUBDOMAIN: buys a preview site through the offline
// checkout in Debian's Chromium, as its owner would: the site at
// http://SUBDOMAIN.localhost:PORT/ -> "Claim this site" -> the offer ->
// "Continue to payment" -> this host's /pay page -> "Pay with test card" ->
// back on the site (?checkout=success); then reloads the site until it is
// the customer's own (no preview banner, no claim link, no noindex: the
// signed webhooks were applied), for at most 30 s (walk.buy). Fails on any
// console or page error, failed request or dialog on the way.
// env: CHROMIUM=/usr/bin/chromium
'use strict';

const walk = require('./walk');

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
  const browser = await walk.launch();
  const errors = [];
  try {
    const page = await browser.newPage();
    walk.watch(page, (e) => errors.push(e));

    const bought = await walk.buy(page, site);
    console.log(`purchase: claim page ${bought.claimUrl}`);
    if (!/Q800\.00 per month/.test(bought.offer) || !/Cancel any time/.test(bought.offer)) {
      fail(`the offer lacks price or terms: ${bought.offer}`);
    }
    console.log(`purchase: checkout ${bought.payUrl}`);
    if (!/Q800\.00/.test(bought.checkout)) fail('the checkout page lacks the amount');
    console.log(`purchase: back on ${bought.back}`);
    if (!bought.live) fail('the site still shows the preview banner 30 s after the payment');
    else console.log('purchase: the site is live (no preview banner, no claim link, no noindex)');

    // The customer portal: the welcome email's link (read from the outbox
    // under $WM_PATHS_VAR, as the buyer would from their inbox) -> "Open my
    // account" -> /portal shows the plan as active, at a phone's width.
    const link = await walk.portalLink(30000);
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
        await walk.screenshot(page, process.env.WM_TEST_SCREENSHOTS, 'portal-390');
      }
    }
  } finally {
    await browser.close();
  }
  for (const e of errors) fail(e);
}

main().catch((e) => { fail(e.stack || String(e)); });
