import { appSlug, slugify } from './slug.js';

const id = '3f2b6c1e-8d4a-4c1f-9b1e-2a7d5e9c0f13';

describe('app slugs', () => {
  it('joins project path and launcher name in lowercase words', () => {
    expect(slugify('Lab/Study Group-Dashboard (v2)')).toBe('lab-study-group-dashboard-v2');
    expect(slugify('Café Übersicht')).toBe('cafe-ubersicht');
    expect(appSlug('lab/study', 'Dashboard', id, () => false)).toBe('lab-study-dashboard');
  });

  it('is made unique with the start of the launcher id when taken', () => {
    const taken = new Set(['lab-study-dashboard']);
    expect(appSlug('lab/study', 'Dashboard', id, (s) => taken.has(s))).toBe('lab-study-dashboard-3f2b6c');
    taken.add('lab-study-dashboard-3f2b6c');
    expect(appSlug('lab/study', 'Dashboard', id, (s) => taken.has(s))).toBe('lab-study-dashboard-3f2b6c1e8d4a');
  });

  it('stays a short DNS-label-like name', () => {
    const slug = appSlug('a'.repeat(80), 'b', id, () => false);
    expect(slug.length).toBeLessThanOrEqual(63);
    expect(appSlug('group/project', '!!!', id, () => false)).toBe('group-project');
    expect(appSlug('', '***', id, () => false)).toBe('app');
  });
});
