import { createTestDatabase, startNats, startService, type RunningService, type TestDatabase, type TestNats } from '../tools/testing/harness.js';

/**
 * A service whose NATS credentials the server refuses does not sit reconnecting for ever, serving
 * nothing: it exits, and its last line names NATS, the server, the user and what to check. At start
 * (a wrong password), and later (the password changed under it).
 */
describe('a service that NATS will not let in', () => {
  let db: TestDatabase;
  let nats: TestNats;
  let running: RunningService | undefined;

  beforeAll(async () => {
    [db, nats] = await Promise.all([createTestDatabase(), startNats()]);
  });

  afterAll(async () => {
    await running?.kill();
    await nats?.dispose();
    await db?.drop();
  });

  it('exits at start, naming NATS, the server and the user it was refused as, and what to check', async () => {
    const wrong = { ...nats.serviceEnv('environments'), NATS_PASSWORD: 'not-the-password' };
    const started = startService('environments', { DATABASE_URL: db.url, ...wrong });
    await expect(started).rejects.toThrow(/environments exited with code 1/);
    const output = (await started.catch((error: Error) => error.message)) as string;
    expect(output).toContain(
      `"msg":"failed to start: NATS at ${nats.url} refused user \\"environments\\" (Authorization Violation): check NATS_USER and NATS_PASSWORD (or NATS_PASSWORD_FILE) against the server's users`,
    );
    expect(output).not.toContain('not-the-password');
  });

  it('exits, saying why, when the server refuses it later (its password changed), rather than wait on a closed connection', async () => {
    running = await startService('environments', { DATABASE_URL: db.url, ...nats.serviceEnv('environments') });
    await nats.stop();
    nats.setPassword('environments', 'rotated-without-telling-the-service');
    await nats.start();
    // Bounded by the suite's timeout: before, it stayed up for ever, its readiness failing.
    expect(await running.exited()).toBe(1);
    expect(running.logs()).toMatch(new RegExp(`"level":"fatal","service":"environments","msg":"NATS at ${nats.url.replace(/[.]/g, '\\.')} refused user \\\\"environments\\\\" \\(Authorization Violation\\)`));
    running = undefined;
  });
});
