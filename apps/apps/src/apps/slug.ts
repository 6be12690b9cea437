/** Lowercase letters, digits and single dashes: `Lab/Study` + `My Dashboard` → `lab-study-my-dashboard`. */
export function slugify(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

const MAX_SLUG = 63;
/** How much of the launcher id a slug carries: 48 random bits, which no one chooses. */
const ID_PART = 12;

/**
 * An app's share link name, one DNS label (`<slug>.<APPS_DOMAIN>`): its project's path and its
 * launcher's name for people to read, then `--` and the start of its launcher id, e.g.
 * `lab-study-dashboard--3f2b6c1e8d4a`. A slugified name never contains `--` (runs of other
 * characters become one dash), so the part after it always is an id: no project path or launcher
 * name, whatever anyone picks, makes another app's slug, and nobody can claim a name before its
 * app is activated. In the unlikely case that two ids start alike, more of the id is taken.
 * It never changes afterwards.
 */
export function appSlug(projectPath: string, launcherName: string, launcherId: string, taken: (slug: string) => boolean): string {
  const hex = launcherId.replace(/-/g, '').toLowerCase();
  for (const length of [ID_PART, 20, 32]) {
    const suffix = hex.slice(0, length);
    const base = slugify(`${projectPath}-${launcherName}`).slice(0, MAX_SLUG - suffix.length - 2).replace(/-+$/, '') || 'app';
    const candidate = `${base}--${suffix}`;
    if (!taken(candidate)) return candidate;
  }
  return `app--${hex}`;
}
