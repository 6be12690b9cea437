import './instrument.js';
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { loadEnvironmentsConfig } from './config.js';
import { EnvironmentsModule } from './environments.module.js';

async function main(): Promise<void> {
  const config = loadEnvironmentsConfig();
  const app = await NestFactory.create(EnvironmentsModule.forRoot(config), { bufferLogs: true, abortOnError: false });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  await app.listen(config.http.port, '0.0.0.0');
  app.get(Logger).log(`environments service ready; health, readiness and metrics on :${config.http.port}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${JSON.stringify({ level: 'fatal', service: 'environments', msg: `failed to start: ${(error as Error)?.message ?? String(error)}`, err: String((error as Error)?.stack ?? error) })}\n`);
  process.exit(1);
});
