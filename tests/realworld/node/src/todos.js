'use strict';
// In-memory store; good enough for the demo deployment.
let next = 1;
const items = new Map();

function list() {
  return [...items.values()];
}

function add(title) {
  const t = { id: next++, title: title.trim(), done: false, created: new Date().toISOString() };
  items.set(t.id, t);
  return t;
}

function done(id) {
  const t = items.get(id);
  if (!t) return null;
  t.done = true;
  return t;
}

module.exports = { list, add, done };
