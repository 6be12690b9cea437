import { Logger } from '@nestjs/common';
import pg from 'pg';

export interface LeaderElectionOptions {
  url: string;
  /** One name per job that must run once, e.g. `sessions-reconciler`. */
  lockName: string;
  /** How often a follower tries to take over and a leader checks it still holds the lock. */
  intervalMs: number;
  applicationName: string;
  onChange?: (isLeader: boolean) => void;
}

/**
 * Leadership through a Postgres session-level advisory lock held on a dedicated connection. The
 * lock lives exactly as long as that connection: if the leader dies, is killed or loses Postgres,
 * its connection ends, the server releases the lock, and another replica takes it at its next try,
 * so a job that must run once (a reconciler, a scaler) moves within `intervalMs`.
 */
export class LeaderElection {
  private readonly logger = new Logger(LeaderElection.name);
  private client: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private leader = false;
  private stopped = false;
  private ticking = false;

  constructor(private readonly options: LeaderElectionOptions) {}

  get isLeader(): boolean {
    return this.leader;
  }

  start(): void {
    this.stopped = false;
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.setLeader(false);
    const client = this.client;
    this.client = undefined;
    // Closing the connection releases the lock at once, so a successor need not wait.
    await client?.end().catch(() => undefined);
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    try {
      if (!this.client) this.client = await this.connect();
      if (this.leader) {
        await this.client.query('SELECT 1');
      } else {
        const { rows } = await this.client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [
          `launchpad:leader:${this.options.lockName}`,
        ]);
        if (rows[0]?.locked) this.setLeader(true);
      }
    } catch (error) {
      this.logger.warn(`leader election for ${this.options.lockName}: ${(error as Error).message}; retrying`);
      this.dropConnection();
    } finally {
      this.ticking = false;
    }
  }

  private async connect(): Promise<pg.Client> {
    // A leader whose machine vanishes sends Postgres no FIN: TCP keepalives (both ends) and a query
    // timeout bound how long its lock, and its own belief that it leads, can outlive it.
    const client = new pg.Client({
      connectionString: this.options.url,
      application_name: `${this.options.applicationName}-leader`,
      keepAlive: true,
      keepAliveInitialDelayMillis: 5_000,
      query_timeout: Math.max(1_000, this.options.intervalMs),
      connectionTimeoutMillis: Math.max(1_000, this.options.intervalMs * 2),
    });
    client.on('error', (error) => {
      this.logger.warn(`leader election connection for ${this.options.lockName} failed: ${error.message}`);
      this.dropConnection();
    });
    client.on('end', () => {
      if (this.client === client) this.dropConnection();
    });
    await client.connect();
    await client.query('SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; SET tcp_keepalives_count = 3');
    return client;
  }

  private dropConnection(): void {
    const client = this.client;
    this.client = undefined;
    this.setLeader(false);
    client?.end().catch(() => undefined);
  }

  private setLeader(value: boolean): void {
    if (this.leader === value) return;
    this.leader = value;
    this.logger.log(`${value ? 'became' : 'is no longer'} the leader for ${this.options.lockName}`);
    this.options.onChange?.(value);
  }
}
