'use strict';

const test = require('node:test');
const assert = require('node:assert');
const { register } = require('../src/routes');

test('registers the routes', () => {
  const seen = [];
  const app = { get: (p) => seen.push(`GET ${p}`), post: (p) => seen.push(`POST ${p}`) };
  register(app);
  assert.deepStrictEqual(seen, ['GET /healthz', 'GET /orders/:id', 'POST /orders']);
});
