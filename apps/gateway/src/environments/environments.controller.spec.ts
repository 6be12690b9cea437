import { CommonErrorCode, DomainError, type Principal } from '@launchpad/contracts';
import type { RpcClient } from '@launchpad/messaging';
import type { EnvironmentList } from './environment-list.js';
import { EnvironmentsController } from './environments.controller.js';

const root: Principal = { userId: 'root', admin: true };
const id = '00000000-0000-4000-8000-000000000001';

/** A change made through this gateway drops its copy of the list, so that its caller reads the change at once, before its event arrives. */
describe('EnvironmentsController', () => {
  let changed: number;
  let answer: () => Promise<unknown>;
  const make = () =>
    new EnvironmentsController({ call: () => answer() } as unknown as RpcClient, { changed: () => void changed++ } as unknown as EnvironmentList);
  beforeEach(() => {
    changed = 0;
    answer = async () => ({ id });
  });

  it.each([
    ['a creation', (c: EnvironmentsController) => c.create(root, { name: 'R', image: 'r-base:4', port: 8787 } as never)],
    ['an update', (c: EnvironmentsController) => c.update(root, id, { description: 'x' } as never)],
    ['a deletion', (c: EnvironmentsController) => c.delete(root, id)],
  ])('drops the list after %s, once it is answered', async (_name, change) => {
    let answered!: (value: unknown) => void;
    answer = () => new Promise((resolve) => (answered = resolve));
    const done = change(make());
    await Promise.resolve();
    expect(changed).toBe(0);
    answered({ id, ok: true });
    await done;
    expect(changed).toBe(1);
  });

  it('drops the list after a change that failed too (a timeout may come after the commit)', async () => {
    answer = () => Promise.reject(new DomainError(CommonErrorCode.SERVICE_UNAVAILABLE, 'no answer'));
    await expect(make().update(root, id, { description: 'x' } as never)).rejects.toThrow('no answer');
    expect(changed).toBe(1);
  });
});
