import { parseImageReference } from './image-reference.js';

describe('parseImageReference', () => {
  it.each([
    ['quay.io/jupyter/minimal-notebook:python-3.12', { registry: 'quay.io', repository: 'jupyter/minimal-notebook', tag: 'python-3.12' }],
    ['registry.example.com:5000/team/app:v1', { registry: 'registry.example.com', port: 5000, repository: 'team/app', tag: 'v1' }],
    ['localhost:5000/app:latest', { registry: 'localhost', port: 5000, repository: 'app', tag: 'latest' }],
    ['python:3.12', { repository: 'python', tag: '3.12' }],
    [`alpine@sha256:${'a'.repeat(64)}`, { repository: 'alpine', digest: `sha256:${'a'.repeat(64)}` }],
    [`ghcr.io/o/r:1@sha256:${'0'.repeat(64)}`, { registry: 'ghcr.io', repository: 'o/r', tag: '1', digest: `sha256:${'0'.repeat(64)}` }],
    ['gitlab.example.com/group/sub__x/my.repo-name:abc1234', { registry: 'gitlab.example.com', repository: 'group/sub__x/my.repo-name', tag: 'abc1234' }],
  ])('accepts %s', (input, expected) => {
    expect(parseImageReference(input)).toEqual({ ok: true, reference: expected });
  });

  it.each([
    ['', 'reference'],
    ['quay.io/jupyter/minimal-notebook', 'tag'],
    ['quay.io/Jupyter/notebook:1', 'repository'],
    ['quay.io/jupyter/notebook:-bad', 'tag'],
    ['alpine@sha256:abc', 'digest'],
    [`alpine@md5:${'a'.repeat(64)}`, 'digest'],
    ['registry.example.com:99999/app:1', 'port'],
    ['registry.example.com:port/app:1', 'port'],
    ['bad_host.example.com/app:1', 'registry'],
    ['quay.io//notebook:1', 'repository'],
    ['quay.io/jupyter/note book:1', 'reference'],
    [`quay.io/${'a'.repeat(300)}:1`, 'repository'],
  ])('rejects %j naming the %s part', (input, part) => {
    const result = parseImageReference(input);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.part).toBe(part);
      expect(result.message.length).toBeGreaterThan(10);
    }
  });
});
