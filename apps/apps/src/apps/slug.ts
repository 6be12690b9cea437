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

/**
 * An app's share link name: its project's path and its launcher's name. When another app has it
 * already, the start of the launcher id makes it unique; it never changes afterwards.
 */
export function appSlug(projectPath: string, launcherName: string, launcherId: string, taken: (slug: string) => boolean): string {
  const base = slugify(`${projectPath}-${launcherName}`).slice(0, MAX_SLUG).replace(/-+$/, '') || 'app';
  if (!taken(base)) return base;
  const hex = launcherId.replace(/-/g, '');
  for (const length of [6, 12, 32]) {
    const suffix = hex.slice(0, length);
    const candidate = `${base.slice(0, MAX_SLUG - suffix.length - 1).replace(/-+$/, '')}-${suffix}`;
    if (!taken(candidate)) return candidate;
  }
  return hex;
}
