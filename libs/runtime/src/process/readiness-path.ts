/**
 * The path readiness is polled on: the workload's base URL joined with its default URL, with
 * exactly one slash between them, e.g. `/sessions/s1/` + `/lab` = `/sessions/s1/lab`. An empty
 * default URL polls the base URL itself (with its trailing slash, if it has one).
 */
export function readinessPath(baseUrl: string, defaultUrl: string): string {
  const base = baseUrl.startsWith('/') ? baseUrl : `/${baseUrl}`;
  const rest = defaultUrl.replace(/^\/+/, '');
  if (rest === '') return base;
  return `${base.replace(/\/+$/, '')}/${rest}`;
}
