#!/usr/bin/env node
// Prints a development bearer token: npm run token -- --user alice [--admin] [--ttl 3600]
import { parseArgs } from 'node:util';
import { devToken } from './dev-key.js';

const usage = 'usage: npm run token -- --user <name> [--admin] [--ttl <seconds>]';
let values;
try {
  ({ values } = parseArgs({ options: { user: { type: 'string' }, admin: { type: 'boolean', default: false }, ttl: { type: 'string' }, help: { type: 'boolean' } } }));
} catch (error) {
  console.error(`${error.message}\n${usage}`);
  process.exit(2);
}
if (values.help) {
  console.log(usage);
  process.exit(0);
}
if (!values.user || !/^[^\s/]{1,255}$/.test(values.user)) {
  console.error(`--user is required: a user name without spaces or slashes\n${usage}`);
  process.exit(2);
}
const ttl = values.ttl === undefined ? undefined : Number(values.ttl);
if (ttl !== undefined && (!Number.isInteger(ttl) || ttl <= 0)) {
  console.error(`--ttl must be a positive number of seconds\n${usage}`);
  process.exit(2);
}
process.stdout.write(`${await devToken({ user: values.user, admin: values.admin, ...(ttl ? { ttlSeconds: ttl } : {}) })}\n`);
