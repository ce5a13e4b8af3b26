'use strict';

const express = require('express');
const pino = require('pino');
const config = require('./config');
const routes = require('./routes');

const log = pino({ level: config.logLevel });
const app = express();
app.use(express.json());
routes.register(app);

app.listen(config.port, () => log.info({ port: config.port }, 'orders-api listening'));
