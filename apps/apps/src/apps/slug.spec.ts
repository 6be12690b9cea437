import { appSlug, slugify } from './slug.js';

const id = '3f2b6c1e-8d4a-4c1f-9b1e-2a7d5e9c0f13';
const other = '9a9a9a9a-0000-4000-8000-000000000000';

describe('app slugs', () => {
  it('joins project path and launcher name in lowercase words, then the start of the launcher id', () => {
    expect(slugify('Lab/Study Group-Dashboard (v2)')).toBe('lab-study-group-dashboard-v2');
    expect(slugify('Café Übersicht')).toBe('cafe-ubersicht');
    expect(appSlug('lab/study', 'Dashboard', id, () => false)).toBe('lab-study-dashboard--3f2b6c1e8d4a');
  });

  it('cannot be forged by a project path and launcher name: whatever names another picks, its slug is not ours', () => {
    const ours = appSlug('lab/study', 'Dashboard', id, () => false);
    // Someone who knows our launcher id names their project and launcher after our slug.
    for (const [path, name] of [
      ['lab/study', 'dashboard--3f2b6c1e8d4a'],
      ['lab-study-dashboard', '-3f2b6c1e8d4a'],
      ['lab', 'study dashboard  3f2b6c1e8d4a'],
      ['lab/study/dashboard--3f2b6c1e8d4a', ''],
    ]) {
      expect(appSlug(path!, name!, other, () => false)).not.toBe(ours);
      expect(appSlug(path!, name!, other, () => false)).toMatch(/--9a9a9a9a0000$/);
    }
    // A slugified name never has a double dash: the id part is always the one after it.
    expect(slugify('dashboard--3f2b6c1e8d4a')).toBe('dashboard-3f2b6c1e8d4a');
  });

  it('takes more of the id in the unlikely case that two ids start alike', () => {
    const taken = new Set(['lab-study-dashboard--3f2b6c1e8d4a']);
    expect(appSlug('lab/study', 'Dashboard', id, (s) => taken.has(s))).toBe('lab-study-dashboard--3f2b6c1e8d4a4c1f9b1e');
  });

  it('stays one DNS label', () => {
    const slug = appSlug('a'.repeat(80), 'b', id, () => false);
    expect(slug.length).toBeLessThanOrEqual(63);
    expect(slug).toMatch(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/);
    expect(appSlug('group/project', '!!!', id, () => false)).toBe('group-project--3f2b6c1e8d4a');
    expect(appSlug('', '***', id, () => false)).toBe('app--3f2b6c1e8d4a');
  });
});
