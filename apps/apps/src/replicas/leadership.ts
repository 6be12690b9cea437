import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { LeaderElection } from '@launchpad/persistence';
import { gauge } from '@launchpad/telemetry';
import { APPS_CONFIG, type AppsConfig } from '../config.js';

const leading = gauge('launchpad_apps_scaler_leader', '1 on the apps replica whose scaler and replica reconciler act, 0 elsewhere');

/**
 * One lock for what must happen once however many replicas of the apps service run: the scaler's
 * decisions and the replica reconciler that carries them out. Every replica runs an activator.
 */
@Injectable()
export class Leadership implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly election: LeaderElection;
  private readonly listeners = new Set<(isLeader: boolean) => void>();

  constructor(@Inject(APPS_CONFIG) config: AppsConfig) {
    leading.set(0);
    this.election = new LeaderElection({
      url: config.database.url,
      lockName: 'apps-scaler',
      intervalMs: config.leaderElectionIntervalMs,
      applicationName: 'launchpad-apps',
      onChange: (isLeader) => {
        leading.set(isLeader ? 1 : 0);
        for (const listener of this.listeners) listener(isLeader);
      },
    });
  }

  get isLeader(): boolean {
    return this.election.isLeader;
  }

  onChange(listener: (isLeader: boolean) => void): void {
    this.listeners.add(listener);
  }

  onApplicationBootstrap(): void {
    this.election.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.election.stop();
  }
}
