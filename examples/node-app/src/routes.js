'use strict';

const { z } = require('zod');

const Order = z.object({
  sku: z.string().min(1),
  quantity: z.number().int().positive(),
});

const orders = new Map();
let nextId = 1;

function register(app) {
  app.get('/healthz', (req, res) => res.json({ ok: true }));

  app.get('/orders/:id', (req, res) => {
    const order = orders.get(Number(req.params.id));
    if (!order) return res.status(404).json({ error: 'not found' });
    return res.json(order);
  });

  app.post('/orders', (req, res) => {
    const parsed = Order.safeParse(req.body);
    if (!parsed.success) return res.status(400).json({ error: parsed.error.issues });
    const order = { id: nextId++, ...parsed.data, createdAt: new Date().toISOString() };
    orders.set(order.id, order);
    return res.status(201).json(order);
  });
}

module.exports = { register };
