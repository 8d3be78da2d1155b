#!/usr/bin/env node
// fetch_site.js PORT HOST OUTFILE: GET / from 127.0.0.1:PORT with
// `Host: HOST:PORT` (the way a browser asks for http://HOST:PORT/, without
// relying on name resolution or curl) and writes the body to OUTFILE.
// Fails unless the answer is 200 with an HTML Content-Type.
'use strict';

const fs = require('fs');
const http = require('http');

const [port, host, out] = process.argv.slice(2);
if (!port || !host || !out) {
  console.error('usage: fetch_site.js PORT HOST OUTFILE');
  process.exit(2);
}

const req = http.get({ host: '127.0.0.1', port: Number(port), path: '/',
  headers: { Host: `${host}:${port}` }, timeout: 15000 }, (res) => {
  const chunks = [];
  res.on('data', (c) => chunks.push(c));
  res.on('end', () => {
    const body = Buffer.concat(chunks);
    const type = res.headers['content-type'] || '';
    if (res.statusCode !== 200 || !/^text\/html/.test(type)) {
      console.error(`fetch_site: http://${host}:${port}/ answered ${res.statusCode} (${type}): ` +
        body.toString('utf8', 0, 200));
      process.exit(1);
    }
    fs.writeFileSync(out, body);
    console.log(`fetched http://${host}:${port}/ (${body.length} bytes)`);
  });
});
req.on('timeout', () => req.destroy(new Error('timed out after 15 s')));
req.on('error', (e) => {
  console.error(`fetch_site: http://${host}:${port}/: ${e.message}`);
  process.exit(1);
});
