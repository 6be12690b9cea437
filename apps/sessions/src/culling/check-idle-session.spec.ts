import { ActivityProbe, ActivityProbeError, type JupyterActivity } from './activity-probe.js';
import { CheckIdleSession, IDLE_CONFIRM_MS, idleConfirmed, lastUseOf, PROBE_FAILURE_GRACE_MS, PROBE_RETRY_MS } from './check-idle-session.usecase.js';

const now = new Date('2026-12-01T12:00:00Z');
const ago = (s: number) => new Date(now.getTime() - s * 1000);
const activity = (over: Partial<JupyterActivity> = {}): JupyterActivity => ({ lastActivity: ago(3600), kernels: 1, busyKernels: 0, connections: 0, kernelActivity: ago(3600), ...over });

class FakeProbe extends ActivityProbe {
  readonly asked: { endpoint: string; authorization: string }[] = [];
  constructor(private readonly answer: JupyterActivity | Error) {
    super();
  }
  override async jupyter(endpoint: string, authorization: string): Promise<JupyterActivity> {
    this.asked.push({ endpoint, authorization });
    if (this.answer instanceof Error) throw this.answer;
    return this.answer;
  }
}

const jupyterRow = { id: 's1', endpoint: 'http://127.0.0.1:4100', secret: 'abc', spec: { auth: { kind: 'jupyter-token' as const } } } as never;

describe('idleConfirmed', () => {
  const now = new Date('2026-12-02T12:00:10Z');
  const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();
  it('takes an idle answer a moment before as confirmation, and nothing else', () => {
    expect(idleConfirmed({ checkedAt: ago(PROBE_RETRY_MS), kernels: 1, busyKernels: 0, connections: 0 }, now)).toBe(true);
    // The first idle answer, a busy one, a failed look, or one from too long ago: look again first.
    expect(idleConfirmed(null, now)).toBe(false);
    expect(idleConfirmed({ checkedAt: ago(PROBE_RETRY_MS), kernels: 1, busyKernels: 1, connections: 0 }, now)).toBe(false);
    expect(idleConfirmed({ checkedAt: ago(PROBE_RETRY_MS), error: 'timed out', failingSince: ago(PROBE_RETRY_MS) }, now)).toBe(false);
    expect(idleConfirmed({ checkedAt: ago(IDLE_CONFIRM_MS + 1), kernels: 1, busyKernels: 0, connections: 0 }, now)).toBe(false);
  });
});

describe('lastUseOf', () => {
  it('a busy kernel is in use now, however long ago it last said anything', () => {
    expect(lastUseOf(activity({ busyKernels: 1, kernelActivity: ago(7200) }), now)).toEqual(now);
  });
  it('otherwise the latest of Jupyter’s own and its kernels’ activity, never after now', () => {
    expect(lastUseOf(activity({ lastActivity: ago(300), kernelActivity: ago(60) }), now)).toEqual(ago(60));
    expect(lastUseOf(activity({ lastActivity: ago(30), kernelActivity: null }), now)).toEqual(ago(30));
    expect(lastUseOf(activity({ lastActivity: new Date(now.getTime() + 5000) }), now)).toEqual(now);
    expect(lastUseOf(activity({ lastActivity: null, kernelActivity: null }), now)).toBeNull();
  });
  it('open connections alone are not use (an abandoned tab)', () => {
    expect(lastUseOf(activity({ connections: 3 }), now)).toEqual(ago(3600));
  });
});

describe('CheckIdleSession', () => {
  it('asks a Jupyter session’s program with the session’s own token', async () => {
    const probe = new FakeProbe(activity({ busyKernels: 1, kernels: 2, connections: 1 }));
    const check = await new CheckIdleSession(probe).execute(jupyterRow, now);
    expect(probe.asked).toEqual([{ endpoint: 'http://127.0.0.1:4100', authorization: 'token abc' }]);
    expect(check).toEqual({ usedAt: now, seen: { checkedAt: now.toISOString(), kernels: 2, busyKernels: 1, connections: 1, lastActivity: ago(3600).toISOString() } });
  });

  it('asks nothing of a program that takes no token: the traffic rule stays', async () => {
    const probe = new FakeProbe(activity({ busyKernels: 1 }));
    expect(await new CheckIdleSession(probe).execute({ ...(jupyterRow as object), spec: { auth: { kind: 'none' } } } as never, now)).toEqual({ usedAt: null, seen: null });
    expect(await new CheckIdleSession(probe).execute({ ...(jupyterRow as object), spec: {} } as never, now)).toEqual({ usedAt: null, seen: null });
    expect(probe.asked).toEqual([]);
  });

  const failing = new FakeProbe(new ActivityProbeError('Jupyter answered /api/status with HTTP 403'));
  const failedAt = (s: number, since = s) => ({ checkedAt: ago(s).toISOString(), error: 'an earlier failure', failingSince: ago(since).toISOString() });

  it('a Jupyter that cannot be asked once is asked again shortly, nothing decided meanwhile', async () => {
    const check = await new CheckIdleSession(failing).execute(jupyterRow, now);
    expect(check).toEqual({
      usedAt: null,
      seen: { checkedAt: now.toISOString(), error: 'Jupyter answered /api/status with HTTP 403', failingSince: now.toISOString(), retrying: true },
      askAgainInMs: PROBE_RETRY_MS,
    });
    // Failures in a row keep the first one's time; still within the grace, still asked again.
    const again = await new CheckIdleSession(failing).execute({ ...(jupyterRow as object), activitySeen: failedAt(2, 10) } as never, now);
    expect(again).toMatchObject({ seen: { failingSince: ago(10).toISOString(), retrying: true }, askAgainInMs: PROBE_RETRY_MS });
  });

  it('a Jupyter that has not answered for the grace keeps nothing alive, and says why', async () => {
    const graceS = PROBE_FAILURE_GRACE_MS / 1000;
    const check = await new CheckIdleSession(failing).execute({ ...(jupyterRow as object), activitySeen: failedAt(2, graceS) } as never, now);
    expect(check).toEqual({ usedAt: null, seen: { checkedAt: now.toISOString(), error: 'Jupyter answered /api/status with HTTP 403', failingSince: ago(graceS).toISOString() } });
  });

  it('a failure long ago, or an answer since, starts a new grace', async () => {
    const old = await new CheckIdleSession(failing).execute({ ...(jupyterRow as object), activitySeen: failedAt(3600) } as never, now);
    expect(old).toMatchObject({ seen: { failingSince: now.toISOString(), retrying: true }, askAgainInMs: PROBE_RETRY_MS });
    const answered = await new CheckIdleSession(failing).execute({ ...(jupyterRow as object), activitySeen: { checkedAt: ago(2).toISOString(), kernels: 1, busyKernels: 1 } } as never, now);
    expect(answered).toMatchObject({ seen: { failingSince: now.toISOString(), retrying: true }, askAgainInMs: PROBE_RETRY_MS });
  });
});
