import { type DynamicModule, Global, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { HealthController, HealthRegistry } from './health.js';
import { loggerParams } from './logger.js';
import { MetricsController } from './metrics.js';

@Global()
@Module({})
export class TelemetryModule {
  static forRoot(options: { service: string; logLevel: string }): DynamicModule {
    return {
      module: TelemetryModule,
      imports: [LoggerModule.forRoot(loggerParams(options.service, options.logLevel))],
      controllers: [HealthController, MetricsController],
      providers: [HealthRegistry],
      exports: [HealthRegistry],
    };
  }
}
