import type { Logger } from '@nestjs/common';
import { CommonErrorCode } from '@launchpad/contracts';
import { toErrorPayload } from './rpc.js';

/** A TypeORM QueryFailedError as far as toErrorPayload reads it: pg's SQLSTATE on driverError. */
const pgError = (code: string, message: string) => Object.assign(new Error(message), { driverError: { code } });

describe('what an RPC caller hears of an unexpected error', () => {
  const logged: unknown[][] = [];
  const logger = { error: (...args: unknown[]) => void logged.push(args) } as unknown as Logger;
  beforeEach(() => void (logged.length = 0));

  it('hears that a deadlock the use case could not get past is worth retrying (503), and the log has the SQL state', () => {
    const payload = toErrorPayload(pgError('40P01', 'deadlock detected'), logger, 'sessions.rpc.launch');
    expect(payload.code).toBe(CommonErrorCode.SERVICE_UNAVAILABLE);
    expect(payload.message).not.toMatch(/deadlock/);
    expect(logged[0]?.[0]).toMatchObject({ sqlState: '40P01' });
  });

  it('hears INTERNAL (500) for anything else, logged with its SQL state', () => {
    const payload = toErrorPayload(pgError('42703', 'column "x" does not exist'), logger, 'sessions.rpc.launch');
    expect(payload.code).toBe(CommonErrorCode.INTERNAL);
    expect(logged[0]?.[0]).toMatchObject({ sqlState: '42703' });
    expect(String(logged[0]?.[1])).toMatch(/SQL state 42703/);
  });
});
