'use strict';

// Settings come from the environment (see .env in development).
module.exports = {
  port: Number(process.env.PORT || 3000),
  logLevel: process.env.LOG_LEVEL || 'info',
  databaseUrl: process.env.DATABASE_URL || 'postgres://localhost:5432/orders',
};
