import { explainFailure } from './failure-causes.js';

const GB = 1024 ** 3;

describe('explainFailure', () => {
  it('says a full disk first, with what to do, and keeps what the runtime reported', () => {
    const said = explainFailure('exited with code 1; last output:\nOSError: [Errno 28] No space left on device', { diskUsedBytes: null, diskGb: 10 });
    expect(said).toMatch(/^disk full: the session's \/work has no room left \(it has 10 GB\); its files are kept: resume it and delete some/);
    expect(said).toMatch(/The runtime reported: exited with code 1; last output:\nOSError: \[Errno 28\] No space left on device$/);
    expect(explainFailure("fatal: write error: No space left on device (git clone of 'data')", { diskGb: 1 })).toMatch(/^disk full: /);
  });

  it('a last measurement at or over the disk’s size is a full disk too, whatever the program said', () => {
    expect(explainFailure('exited with code 1', { diskUsedBytes: 2 * GB, diskGb: 2 })).toMatch(/^disk full: the session's \/work has no room left \(2\.00 GB of 2 GB used\)/);
    expect(explainFailure('exited with code 1', { diskUsedBytes: GB, diskGb: 2 })).toBe('exited with code 1');
  });

  it('leaves other failures as the runtime said them', () => {
    expect(explainFailure('command not found: jupyter', { diskUsedBytes: null, diskGb: 10 })).toBe('command not found: jupyter');
  });
});
