import { isConnectionError } from './data-source.js';

describe('isConnectionError', () => {
  it('takes a server that refuses more clients (53300) for a database unavailable, as it takes one that is down', () => {
    expect(isConnectionError({ code: '53300', message: 'sorry, too many clients already' })).toBe(true);
    expect(isConnectionError({ driverError: { code: '53300' } })).toBe(true);
    expect(isConnectionError({ code: 'ECONNREFUSED' })).toBe(true);
  });

  it('does not take a query that failed on its own for one', () => {
    expect(isConnectionError({ code: '23505', message: 'duplicate key value violates unique constraint' })).toBe(false);
    expect(isConnectionError(new Error('boom'))).toBe(false);
  });
});
