import { type DynamicModule, Global, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AccessLog } from './access-log.js';
import { HealthController, HealthRegistry } from './health.js';
import { loggerParams } from './logger.js';
import { MetricsController } from './metrics.js';

@Global()
@Module({})
export class TelemetryModule {
  /** `ownAccessLog`: the app mounts AccessLog's middleware itself (see loggerParams). */
  static forRoot(options: { service: string; logLevel: string; ownAccessLog?: boolean }): DynamicModule {
    return {
      module: TelemetryModule,
      imports: [LoggerModule.forRoot(loggerParams(options.service, options.logLevel, options.ownAccessLog))],
      controllers: [HealthController, MetricsController],
      providers: [HealthRegistry, AccessLog],
      exports: [HealthRegistry, AccessLog],
    };
  }
}
