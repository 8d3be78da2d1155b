#!/usr/bin/env node
// A fast stand-in for scripts/browser/screenshot.js (same arguments, same
// output) for the tests that run the whole loop many times: no browser, so
// no seconds per site. It writes solid PNGs of the real sizes and reports
// a request leaving the origin when the page names an http(s) URL outside
// it (what the real driver would see), nothing else.
// The real driver is tested by tests/lua/test_screenshot.lua.
'use strict';

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const o = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) o[argv[i].replace(/^--/, '')] = argv[i + 1];

const CRC = new Int32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});
function crc32(buf) {
  let c = -1;
  for (const b of buf) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
function png(w, h) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const row = Buffer.alloc(1 + w * 3, 0xee);
  row[0] = 0;
  const raw = Buffer.concat(Array(h).fill(row));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

const html = fs.readFileSync(o.html, 'utf8');
const origin = new URL(o.url).origin;
const problems = [];
for (const m of html.matchAll(/\ssrc="(https?:\/\/[^"]+)"/g)) {
  if (new URL(m[1]).origin !== origin) problems.push(`request to another origin: ${m[1]}`);
}
fs.mkdirSync(o.out, { recursive: true });
for (const [name, w, h] of [['desktop', 1280, 800], ['mobile', 390, 844], ['thumb', 320, 200]]) {
  fs.writeFileSync(path.join(o.out, `${name}.png`), png(w, h));
}
process.stdout.write(JSON.stringify({ load_time_ms: 7, problems, facts: {} }) + '\n');
