import { type DynamicModule, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { HealthRegistry } from '@launchpad/telemetry';
import { DataSource } from 'typeorm';
import { createServiceDataSource, initializeWithRetry, migrate, type ServiceDataSourceOptions } from './data-source.js';
import { TransientRetry } from './transient-errors.js';

const OPTIONS = Symbol('PersistenceOptions');

@Injectable()
class DataSourceLifecycle implements OnApplicationShutdown {
  constructor(private readonly dataSource: DataSource) {}
  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

@Module({})
export class PersistenceModule {
  /** Provides the service's DataSource, connected and migrated before anything else uses it. */
  static forRoot(options: ServiceDataSourceOptions & { runMigrations: boolean }): DynamicModule {
    return {
      module: PersistenceModule,
      global: true,
      providers: [
        { provide: OPTIONS, useValue: options },
        {
          provide: DataSource,
          inject: [OPTIONS, HealthRegistry],
          useFactory: async (opts: typeof options, health: HealthRegistry) => {
            const dataSource = createServiceDataSource(opts);
            await initializeWithRetry(dataSource, opts.url);
            if (opts.runMigrations) await migrate(dataSource, opts.schema);
            health.register('postgres', async () => {
              await dataSource.query('SELECT 1');
            });
            return dataSource;
          },
        },
        DataSourceLifecycle,
        TransientRetry,
      ],
      exports: [DataSource, TransientRetry],
    };
  }
}

