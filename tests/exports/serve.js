#!/usr/bin/env node
// SPDX-License-Identifier: BSD-2-Clause
// A tiny static server for the real-consumer test, bound to 127.0.0.1 only:
//   /            speedscope's built files (node_modules/speedscope/dist/release)
//   /files/NAME  the exports under test (a directory given on the command line)
// Same origin for both, so speedscope's #profileURL= fetch needs no CORS.
//   node serve.js FILES_DIR [PORT]    prints "listening PORT" once ready
'use strict';
const http = require('http');
const fs = require('fs');
const path = require('path');

const filesDir = path.resolve(process.argv[2] || '.');
const port = Number(process.argv[3] || 0);
const appDir = path.join(__dirname, 'node_modules', 'speedscope', 'dist', 'release');

const types = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css',
  '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png',
  '.ico': 'image/x-icon', '.wasm': 'application/wasm', '.woff2': 'font/woff2',
  '.ttf': 'font/ttf', '.folded': 'text/plain; charset=utf-8', '.txt': 'text/plain; charset=utf-8',
};

function send(res, file) {
  fs.stat(file, (err, st) => {
    if (err || !st.isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    res.writeHead(200, {
      'content-type': types[path.extname(file)] || 'application/octet-stream',
      'content-length': st.size,
      'cache-control': 'no-store',
    });
    fs.createReadStream(file).pipe(res);
  });
}

const server = http.createServer((req, res) => {
  let url;
  try {
    url = decodeURIComponent(new URL(req.url, 'http://127.0.0.1').pathname);
  } catch (e) {
    res.writeHead(400);
    res.end();
    return;
  }
  let base = appDir;
  let rel = url;
  if (url.startsWith('/files/')) {
    base = filesDir;
    rel = url.slice('/files/'.length);
  } else if (url === '/') {
    rel = 'index.html';
  }
  const file = path.resolve(base, '.' + path.sep + rel);
  if (!file.startsWith(base + path.sep)) {       // no ../ escapes
    res.writeHead(403);
    res.end();
    return;
  }
  send(res, file);
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
