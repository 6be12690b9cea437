// Keeps the deployment files honest against the services' configuration:
//   - every variable docker-compose.yml sets for a Launchpad service is read by that service's
//     config.ts and documented for it in docs/configuration.md;
//   - every variable a config.ts schema declares is documented;
//   - every variable the Kubernetes manifests set (container env, ConfigMap keys) is documented;
//   - the Dockerfile installs with `npm ci` and runs as `node`.
// Each failure lists the offending variable and file.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parseDocument } from 'yaml';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DOCS = 'docs/configuration.md';
const DOCKERFILE = 'deploy/docker/Dockerfile';
const COMPOSE = 'docker-compose.yml';
const K8S = 'deploy/k8s';
/** Doc sections whose variables apply to every service (read by shared libraries). */
const SHARED_SECTION = /^all services\b/i;
const VARIABLE = /^[A-Z][A-Z0-9_]*$/;

type Yaml = unknown;
const isObject = (v: Yaml): v is Record<string, Yaml> => typeof v === 'object' && v !== null && !Array.isArray(v);
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** Service names: the folders of apps/ that have a src/config.ts. */
function services(): string[] {
  return readdirSync(join(ROOT, 'apps'))
    .filter((name) => existsSync(join(ROOT, 'apps', name, 'src', 'config.ts')))
    .sort();
}
const configPath = (service: string) => `apps/${service}/src/config.ts`;

/** Variables per `## section` of docs/configuration.md: the backticked first cell of each table row. */
function documentedBySection(): Map<string, Set<string>> {
  const sections = new Map<string, Set<string>>();
  let current: Set<string> | undefined;
  for (const line of read(DOCS).split('\n')) {
    const heading = /^##\s+(.+?)\s*$/.exec(line);
    if (heading?.[1]) {
      current = new Set();
      sections.set(heading[1], current);
      continue;
    }
    const row = /^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|/.exec(line);
    if (row?.[1] && current) current.add(row[1]);
  }
  return sections;
}

/** What the docs say a service reads: its own section plus the all-services sections. */
function documentedFor(service: string, sections = documentedBySection()): Set<string> {
  const vars = new Set<string>(sections.get(service) ?? []);
  for (const [title, names] of sections) if (SHARED_SECTION.test(title)) names.forEach((n) => vars.add(n));
  return vars;
}
const documentedAnywhere = (sections = documentedBySection()) => new Set([...sections.values()].flatMap((s) => [...s]));

/** The text between the `{` after `z.object(` (or `z\n  .object(`) and its matching `}`. */
function schemaObjectSource(source: string, file: string): string {
  const start = source.search(/\bz\s*\.\s*object\s*\(/);
  if (start < 0) throw new Error(`${file}: no z.object( schema found`);
  const open = source.indexOf('{', start);
  let depth = 0;
  for (let i = open; i < source.length; i++) {
    const c = source[i];
    if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return source.slice(open + 1, i);
  }
  throw new Error(`${file}: unbalanced braces in the z.object schema`);
}

/** Variables a config.ts declares: the schema's keys, plus any env.X / env['X'] read directly. */
function declaredVariables(service: string): string[] {
  const file = configPath(service);
  const source = read(file);
  const body = schemaObjectSource(source, file);
  const names = new Set<string>();
  for (const m of body.matchAll(/^\s*([A-Z][A-Z0-9_]*)\s*:/gm)) names.add(m[1]!);
  for (const m of source.matchAll(/\benv(?:\.([A-Z][A-Z0-9_]*)|\[\s*['"]([A-Z][A-Z0-9_]*)['"]\s*\])/g)) names.add((m[1] ?? m[2])!);
  return [...names].sort();
}

// Read by Node.js itself, before any of the service's code: documented, never in a config.ts.
const READ_BY_NODE = new Set(['NODE_OPTIONS']);

const readsVariable = (service: string, name: string) => READ_BY_NODE.has(name) || new RegExp(`\\b${name}\\b`).test(read(configPath(service)));

/** `environment:` of a compose service, as a map or as a list of KEY=value / KEY. */
function composeEnvironmentNames(environment: Yaml): string[] {
  if (Array.isArray(environment)) return environment.map((entry) => String(entry).split('=')[0]!.trim());
  if (isObject(environment)) return Object.keys(environment);
  return [];
}

/** The SERVICE build arg of a compose service whose build uses deploy/docker/Dockerfile, or undefined. */
function launchpadServiceOf(build: Yaml): { service?: string } | undefined {
  if (!isObject(build)) return undefined;
  const context = typeof build.context === 'string' ? build.context : '.';
  const dockerfile = typeof build.dockerfile === 'string' ? build.dockerfile : 'Dockerfile';
  if (normalize(join(context, dockerfile)) !== normalize(DOCKERFILE)) return undefined;
  const args = build.args;
  if (isObject(args)) return { service: args.SERVICE === undefined || args.SERVICE === null ? undefined : String(args.SERVICE) };
  if (Array.isArray(args)) {
    const arg = args.map(String).find((a) => a.startsWith('SERVICE='));
    return { service: arg?.slice('SERVICE='.length) };
  }
  return { service: undefined };
}

function yamlFilesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return yamlFilesUnder(path);
    return /\.ya?ml$/.test(name) ? [path] : [];
  });
}

function parseYamlFile(path: string): Yaml[] {
  const docs = parseAllDocuments(read(path), { merge: true });
  if (!Array.isArray(docs)) return [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(`${path}: invalid YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
  }
  return docs.map((doc) => doc.toJS() as Yaml).filter((d) => d !== null && d !== undefined);
}

interface ManifestVariable {
  file: string;
  name: string;
  /** The Launchpad service that receives it (container name or app.kubernetes.io/name), if known. */
  service?: string;
  where: string;
}

/** Env var names set in a manifest: container env[].name, ConfigMap data keys, configMapGenerator literals. */
function manifestVariables(file: string, doc: Yaml, known: string[]): ManifestVariable[] {
  const found: ManifestVariable[] = [];
  if (!isObject(doc)) return found;
  if (doc.kind === 'ConfigMap' && isObject(doc.data)) {
    for (const key of Object.keys(doc.data)) found.push({ file, name: key, where: `ConfigMap ${nameOf(doc)} data` });
  }
  if (Array.isArray(doc.configMapGenerator)) {
    for (const generator of doc.configMapGenerator) {
      if (!isObject(generator) || !Array.isArray(generator.literals)) continue;
      for (const literal of generator.literals) {
        found.push({ file, name: String(literal).split('=')[0]!, where: `configMapGenerator ${String(generator.name)} literals` });
      }
    }
  }
  const labelled = isObject(doc.metadata) && isObject(doc.metadata.labels) ? doc.metadata.labels['app.kubernetes.io/name'] : undefined;
  const walk = (node: Yaml): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!isObject(node)) return;
    for (const [key, value] of Object.entries(node)) {
      if ((key === 'containers' || key === 'initContainers') && Array.isArray(value)) {
        for (const container of value) {
          if (!isObject(container) || !Array.isArray(container.env)) continue;
          const service = [container.name, labelled].map(String).find((n) => known.includes(n));
          for (const entry of container.env) {
            if (isObject(entry)) found.push({ file, name: String(entry.name), service, where: `container ${String(container.name)} env` });
          }
        }
      }
      walk(value);
    }
  };
  walk(doc);
  return found;
}

function nameOf(doc: Record<string, Yaml>): string {
  return isObject(doc.metadata) ? String(doc.metadata.name) : '(unnamed)';
}

describe('deployment configuration', () => {
  const known = services();

  it('finds the services and their documentation', () => {
    expect(known.length).toBeGreaterThan(0);
    expect(existsSync(join(ROOT, DOCS))).toBe(true);
    const sections = documentedBySection();
    const missing = known.filter((s) => !sections.has(s)).map((s) => `${DOCS} has no "## ${s}" section for ${configPath(s)}`);
    expect(missing).toEqual([]);
  });

  it('(a) documents, for its service, every variable docker-compose.yml sets and the service reads it', () => {
    const compose = parseDocument(read(COMPOSE), { merge: true });
    expect(compose.errors.map((e) => `${COMPOSE}: ${e.message}`)).toEqual([]);
    const composeServices = (compose.toJS() as { services?: Record<string, Yaml> }).services ?? {};
    const sections = documentedBySection();
    const problems: string[] = [];
    let checked = 0;
    for (const [name, definition] of Object.entries(composeServices)) {
      if (!isObject(definition)) continue;
      const built = launchpadServiceOf(definition.build);
      if (!built) continue;
      const service = built.service;
      if (!service || !known.includes(service)) {
        problems.push(`${COMPOSE}: service "${name}" builds ${DOCKERFILE} with SERVICE=${String(service)}, which is not one of apps/{${known.join(',')}}`);
        continue;
      }
      const documented = documentedFor(service, sections);
      const names = composeEnvironmentNames(definition.environment);
      if (names.length === 0) problems.push(`${COMPOSE}: service "${name}" sets no environment variables`);
      for (const variable of names) {
        checked++;
        if (!documented.has(variable)) problems.push(`${COMPOSE}: ${variable} (service "${name}") is not documented under "## ${service}" in ${DOCS}`);
        if (!readsVariable(service, variable)) problems.push(`${COMPOSE}: ${variable} (service "${name}") is not read by ${configPath(service)}`);
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(0);
  });

  it('(b) documents every variable each config.ts schema declares', () => {
    const sections = documentedBySection();
    const problems: string[] = [];
    for (const service of known) {
      const declared = declaredVariables(service);
      if (declared.length === 0) problems.push(`${configPath(service)}: found no variables in its schema`);
      const documented = sections.get(service) ?? new Set<string>();
      for (const variable of declared) {
        if (!documented.has(variable)) problems.push(`${configPath(service)}: ${variable} is not documented under "## ${service}" in ${DOCS}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('(c) parses every YAML file under deploy/k8s and documents every variable they set', () => {
    const files = yamlFilesUnder(K8S);
    expect(files.length).toBeGreaterThan(0);
    const sections = documentedBySection();
    const anywhere = documentedAnywhere(sections);
    const problems: string[] = [];
    const variables: ManifestVariable[] = [];
    for (const file of files) {
      let docs: Yaml[];
      try {
        docs = parseYamlFile(file);
      } catch (error) {
        problems.push((error as Error).message);
        continue;
      }
      if (docs.length === 0) problems.push(`${file}: no YAML documents`);
      for (const doc of docs) variables.push(...manifestVariables(file, doc, known));
    }
    for (const v of variables) {
      if (!VARIABLE.test(v.name)) {
        problems.push(`${v.file}: ${v.where} sets "${v.name}", which is not an environment variable name`);
      } else if (v.service ? !documentedFor(v.service, sections).has(v.name) : !anywhere.has(v.name)) {
        problems.push(`${v.file}: ${v.name} (${v.where}) is not documented${v.service ? ` under "## ${v.service}"` : ''} in ${DOCS}`);
      }
    }
    expect(problems).toEqual([]);
    // The manifests must give at least one variable to every service, from a container env.
    const served = new Set(variables.filter((v) => v.service).map((v) => v.service));
    expect(known.filter((s) => !served.has(s)).map((s) => `${K8S}: no container env found for service ${s}`)).toEqual([]);
  });

  it('(d) has a Dockerfile that installs with npm ci and runs as the node user', () => {
    const path = join(ROOT, DOCKERFILE);
    expect(existsSync(path) ? DOCKERFILE : `${DOCKERFILE} is missing`).toBe(DOCKERFILE);
    const dockerfile = readFileSync(path, 'utf8');
    const problems: string[] = [];
    if (!/^RUN\b.*\bnpm ci\b/m.test(dockerfile)) problems.push(`${DOCKERFILE}: no RUN line with "npm ci"`);
    if (!/^USER\s+node\s*$/m.test(dockerfile)) problems.push(`${DOCKERFILE}: no "USER node" line`);
    expect(problems).toEqual([]);
  });

  it('reports a variable missing from the docs (the checks can fail)', () => {
    // A name no config.ts declares must not count as documented or read.
    const bogus = 'LAUNCHPAD_NOT_A_REAL_VARIABLE';
    for (const service of known) {
      expect(documentedFor(service).has(bogus)).toBe(false);
      expect(readsVariable(service, bogus)).toBe(false);
    }
  });
});
