'use strict';
const express = require('express');
const morgan = require('morgan');
const todos = require('./todos');

const app = express();
app.use(express.json());
app.use(morgan('tiny'));

app.get('/healthz', (req, res) => res.json({ ok: true }));
app.get('/todos', (req, res) => res.json(todos.list()));
app.post('/todos', (req, res) => {
  if (!req.body || typeof req.body.title !== 'string') {
    return res.status(400).json({ error: 'title is required' });
  }
  res.status(201).json(todos.add(req.body.title));
});
app.post('/todos/:id/done', (req, res) => {
  const t = todos.done(Number(req.params.id));
  if (!t) return res.status(404).json({ error: 'no such todo' });
  res.json(t);
});

const port = Number(process.env.PORT || 3000);
if (require.main === module) {
  app.listen(port, () => console.log(`todo-service listening on ${port}`));
}
module.exports = app;
