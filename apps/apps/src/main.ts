import './instrument.js';
import 'reflect-metadata';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import { Activator, isAppTraffic } from './activator/activator.js';
import { loadAppsConfig } from './config.js';
import { AppsModule } from './apps.module.js';

async function main(): Promise<void> {
  const config = loadAppsConfig();
  // No body parsing anywhere: the activator streams bodies through to the apps.
  const app = await NestFactory.create<NestExpressApplication>(AppsModule.forRoot(config), { bufferLogs: true, abortOnError: false, bodyParser: false });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  app.disable('x-powered-by');
  const activator = app.get(Activator);
  // App traffic goes straight to the activator, ahead of Express and Nest (it needs neither, and
  // every request of every app passes here); the rest (health, metrics) is Nest's as usual.
  const server = app.getHttpServer();
  const nest = server.listeners('request')[0] as (req: IncomingMessage, res: ServerResponse) => void;
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => (isAppTraffic(req.url) ? activator.serve(req, res) : nest(req, res)));
  server.on('upgrade', activator.upgrade);
  await app.listen(config.http.port, config.http.host);
  // Streams (SSE) and slow apps: no server-side limit on how long a request may take.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 65_000;
  app.get(Logger).log(`apps service ready: activator on ${config.http.host}:${config.http.port}/a/<slug>/, health, readiness and metrics on the same port`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${JSON.stringify({ level: 'fatal', service: 'apps', msg: `failed to start: ${(error as Error)?.message ?? String(error)}`, err: String((error as Error)?.stack ?? error) })}\n`);
  process.exit(1);
});
