import './instrument.js';
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { loadBuildsConfig } from './config.js';
import { BuildsModule } from './builds.module.js';

async function main(): Promise<void> {
  const config = loadBuildsConfig();
  const app = await NestFactory.create(BuildsModule.forRoot(config), { bufferLogs: true, abortOnError: false });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  await app.listen(config.http.port, '0.0.0.0');
  app.get(Logger).log(`builds service ready; health, readiness and metrics on :${config.http.port}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${JSON.stringify({ level: 'fatal', service: 'builds', msg: `failed to start: ${(error as Error)?.message ?? String(error)}`, err: String((error as Error)?.stack ?? error) })}\n`);
  process.exit(1);
});
