import './instrument.js';
import 'reflect-metadata';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import express from 'express';
import { Logger } from 'nestjs-pino';
import { RpcClient } from '@launchpad/messaging';
import { AccessLog } from '@launchpad/telemetry';
import { loadGatewayConfig } from './config.js';
import { GatewayModule } from './gateway.module.js';
import { problemErrorMiddleware } from './problems/problem.filter.js';
import { SessionProxy } from './session-proxy/session-proxy.js';
import { AppProxy } from './app-proxy/app-proxy.js';
import { frontDoor, hostUpgrades, legacyLinks } from './origins/host-router.js';
import { Origins } from './origins/origins.js';
import { requestId, requireJsonBodies, traceRequests } from './http/request-pipeline.js';
import { weakEtag } from './http/weak-etag.js';
import { TokenVerifier } from './auth/token-verifier.js';
import { EnvironmentList } from './environments/environment-list.js';
import { keptLists } from './environments/kept-lists.js';
import { webhookIngest } from './webhooks/webhook-ingest.js';

async function main(): Promise<void> {
  const config = loadGatewayConfig();
  const app = await NestFactory.create<NestExpressApplication>(GatewayModule.forRoot(config), { bufferLogs: true, abortOnError: false, bodyParser: false });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  app.disable('x-powered-by');
  // Express's weak ETag, made cheaper (see weak-etag.ts).
  app.set('etag', weakEtag);
  // The access log first after the request's id and span, so that a request refused before Nest
  // (a body that is not JSON, a legacy link) has its line too.
  app.use(requestId, traceRequests, app.get(AccessLog).middleware);
  // Sessions and apps, each on its own origin (by Host), stream through untouched: mounted before
  // any body parsing. Only what is for neither reaches the API.
  const origins = new Origins(config);
  const sessionProxy = app.get(SessionProxy);
  const appProxy = app.get(AppProxy);
  // Before Express: the server's one request listener is the front door, and Express is its API.
  const server = app.getHttpServer() as Server;
  const [api] = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  if (!api) throw new Error('the HTTP server has no request listener to put behind the front door');
  server.removeAllListeners('request');
  // The API's hottest read, when it can be answered from memory, before Express (see kept-lists.ts).
  const lists = keptLists(app.get(TokenVerifier), app.get(EnvironmentList), app.get(AccessLog).middleware, api);
  // GitLab's deliveries, before Express too (see webhook-ingest.ts).
  const ingest = webhookIngest(app.get(RpcClient), app.get(AccessLog).middleware, config.http.webhookBodyLimitBytes, lists);
  server.on('request', frontDoor(origins, sessionProxy, appProxy, ingest));
  app.use(legacyLinks(origins));
  app.use(requireJsonBodies);
  const json = (limit: number) => express.json({ limit, type: ['application/json', 'application/*+json'], strict: true });
  // GitLab webhooks have their own limit (a pipeline hook lists every job); parsed here, the body is skipped by the next parser.
  app.use('/api/v1/webhooks/gitlab', json(config.http.webhookBodyLimitBytes));
  app.use(json(config.http.bodyLimitBytes));
  app.use(problemErrorMiddleware());
  app.setGlobalPrefix('api/v1', { exclude: ['healthz', 'readyz', 'metrics'] });

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Launchpad API')
      .setDescription('Environments, launchers, sessions and apps of the Launchpad compute backend. Errors are RFC 9457 problem+json.')
      .setVersion('1')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs/openapi.json' });

  await app.listen(config.http.port, '0.0.0.0');
  app.getHttpServer().on('upgrade', hostUpgrades(origins, sessionProxy, appProxy));
  // Idle keep-alive connections outlive those of what sits in front (an ingress or load balancer
  // keeps its own for 60 s): closing ours first races a request sent on a connection we are
  // closing, which the client sees as a reset (a burst after a pause lost a fifth of its requests so).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  app
    .get(Logger)
    .log(
      `gateway listening: API ${config.http.publicUrl}/api/v1, docs ${config.http.publicUrl}/api/docs; sessions at ${origins.session('<id>')}/, apps at ${origins.app('<slug>')}/`,
    );
}

main().catch((error: unknown) => {
  process.stderr.write(`${JSON.stringify({ level: 'fatal', service: 'gateway', msg: `failed to start: ${(error as Error)?.message ?? String(error)}`, err: String((error as Error)?.stack ?? error) })}\n`);
  process.exit(1);
});
