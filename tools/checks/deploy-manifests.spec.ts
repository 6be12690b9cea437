// Renders each Kustomize overlay (`kubectl kustomize`, as `kubectl apply -k` would) and checks what
// an API server would check, offline:
//   - every object validates against the OpenAPI schema of its kind in Kubernetes 1.34 (the JSON
//     schemas kubernetes-models ships: types, required fields, enums, formats);
//   - no object has a field its kind does not define (what `kubectl apply --validate=strict` and the
//     server's strict field validation refuse; the field lists of @kubernetes/client-node's models);
//   - every Launchpad service's configuration loads from the environment its Deployment gives it
//     (values, ConfigMap and Secret references resolved against the rendered objects, downward API
//     fields), i.e. every variable it needs is set and valid — the same zod schema it runs at start.
// Secrets that an overlay expects to be created out of band (production) are given placeholder
// values of the documented shape (OUT_OF_BAND_SECRETS), so a missing reference still fails.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jest } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const OVERLAYS = join(ROOT, 'deploy', 'k8s', 'overlays');
const KUBERNETES_VERSION = '1.34';

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Secrets the production overlay tells operators to create themselves, with values of the documented shape. */
const OUT_OF_BAND_SECRETS: Record<string, Record<string, string>> = {
  'launchpad-database': {
    admin: 'postgres://postgres:placeholder@db.example.com:5432/launchpad',
    environments: 'postgres://launchpad_environments:placeholder@db.example.com:5432/launchpad',
    sessions: 'postgres://launchpad_sessions:placeholder@db.example.com:5432/launchpad',
    apps: 'postgres://launchpad_apps:placeholder@db.example.com:5432/launchpad',
    builds: 'postgres://launchpad_builds:placeholder@db.example.com:5432/launchpad',
  },
  'launchpad-nats': { gateway: 'placeholder', environments: 'placeholder', sessions: 'placeholder', apps: 'placeholder', builds: 'placeholder' },
  'launchpad-apps-caller': { secret: 'placeholder-apps-caller-secret-at-least-32-chars' },
  'launchpad-origin-cookie': { secret: 'placeholder-origin-cookie-secret-at-least-32-chars' },
  'launchpad-gitlab': {},
  'launchpad-spec-hash': { sessions: Buffer.alloc(32, 1).toString('base64'), apps: Buffer.alloc(32, 2).toString('base64') },
};

function render(overlay: string): Obj[] {
  const out = execFileSync('kubectl', ['kustomize', join(OVERLAYS, overlay)], { encoding: 'utf8' });
  return parseAllDocuments(out)
    .map((d) => d.toJS() as unknown)
    .filter(isObject);
}

/** `kubernetes-models/<group>/<version>` exports one class per kind, with a JSON-schema `validate()`. */
async function schemaProblems(obj: Obj): Promise<string[]> {
  const apiVersion = String(obj.apiVersion);
  const kind = String(obj.kind);
  const module = (await import(`kubernetes-models/${apiVersion}`).catch(() => undefined)) as Record<string, new (o: Obj) => { validate(): void }> | undefined;
  const Model = module?.[kind];
  if (!Model) return [`${kind} ${apiVersion}: not a kind of Kubernetes ${KUBERNETES_VERSION}`];
  try {
    new Model(obj).validate();
    return [];
  } catch (error) {
    return [(error as Error).message];
  }
}

type AttributeMap = { baseName: string; type: string }[];
const models = k8s as unknown as Record<string, { getAttributeTypeMap?: () => AttributeMap } | undefined>;

/** The client-node model of a kind, e.g. apps/v1 Deployment → V1Deployment, autoscaling/v2 HPA → V2HorizontalPodAutoscaler. */
function modelName(apiVersion: string, kind: string): string {
  const version = apiVersion.split('/').pop()!;
  return `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`;
}

/** Fields the object has and its kind does not define, as JSON paths. */
function unknownFields(value: unknown, type: string, path: string): string[] {
  const array = /^Array<(.+)>$/.exec(type);
  if (array) return Array.isArray(value) ? value.flatMap((v, i) => unknownFields(v, array[1]!, `${path}[${i}]`)) : [];
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) return isObject(value) ? Object.entries(value).flatMap(([k, v]) => unknownFields(v, map[1]!, `${path}.${k}`)) : [];
  const attributes = models[type]?.getAttributeTypeMap?.();
  if (!attributes || !isObject(value)) return [];
  const byName = new Map(attributes.map((a) => [a.baseName, a.type]));
  return Object.entries(value).flatMap(([key, v]) => {
    const fieldType = byName.get(key);
    if (fieldType === undefined) return [`${path}.${key}`];
    return unknownFields(v, fieldType, `${path}.${key}`);
  });
}

function describe_(obj: Obj): string {
  const meta = isObject(obj.metadata) ? obj.metadata : {};
  return `${String(obj.kind)}/${String(meta.name)}`;
}

/** The environment a container would see, or the reasons it cannot be built. */
function containerEnvironment(container: Obj, objects: Obj[]): { env: Record<string, string>; problems: string[] } {
  const env: Record<string, string> = {};
  const problems: string[] = [];
  const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && isObject(o.metadata) && o.metadata.name === name);
  for (const entry of (container.env as Obj[] | undefined) ?? []) {
    const name = String(entry.name);
    if (typeof entry.value === 'string') {
      env[name] = entry.value;
      continue;
    }
    const from = isObject(entry.valueFrom) ? entry.valueFrom : {};
    if (isObject(from.configMapKeyRef)) {
      const ref = from.configMapKeyRef;
      const map = find('ConfigMap', String(ref.name));
      const value = map && isObject(map.data) ? map.data[String(ref.key)] : undefined;
      if (typeof value === 'string') env[name] = value;
      else if (ref.optional !== true) problems.push(`${name}: ConfigMap ${String(ref.name)} key ${String(ref.key)} is not rendered`);
    } else if (isObject(from.secretKeyRef)) {
      const ref = from.secretKeyRef;
      const secret = find('Secret', String(ref.name));
      const rendered = secret && isObject(secret.data) ? secret.data[String(ref.key)] : undefined;
      const outOfBand = secret ? undefined : OUT_OF_BAND_SECRETS[String(ref.name)];
      if (typeof rendered === 'string') env[name] = Buffer.from(rendered, 'base64').toString('utf8');
      else if (outOfBand?.[String(ref.key)] !== undefined) env[name] = outOfBand[String(ref.key)]!;
      else if (ref.optional !== true) problems.push(`${name}: Secret ${String(ref.name)} key ${String(ref.key)} is neither rendered nor a documented out-of-band secret`);
    } else if (isObject(from.fieldRef)) {
      const field = String(from.fieldRef.fieldPath);
      env[name] = field === 'metadata.namespace' ? 'launchpad' : field === 'metadata.name' ? 'pod-0' : 'field';
    } else {
      problems.push(`${name}: neither a value nor a reference this check knows`);
    }
  }
  return { env, problems };
}

const services = readdirSync(join(ROOT, 'apps')).filter((s) => existsSync(join(ROOT, 'apps', s, 'src', 'config.ts')));
const loaderName = (service: string) => `load${service.charAt(0).toUpperCase()}${service.slice(1)}Config`;

/** Runs the service's own config loader; it exits the process on bad config, which we turn into a thrown message. */
async function configProblems(service: string, env: Record<string, string>): Promise<string[]> {
  const module = (await import(`../../apps/${service}/src/config.js`)) as Record<string, (env: NodeJS.ProcessEnv) => unknown>;
  const load = module[loaderName(service)];
  if (!load) return [`apps/${service}/src/config.ts exports no ${loaderName(service)}`];
  const written: string[] = [];
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: unknown) => {
    written.push(String(chunk));
    return true;
  });
  const exit = jest.spyOn(process, 'exit').mockImplementation((code?: string | number | null) => {
    throw new Error(`exit ${String(code)}`);
  });
  try {
    load(env);
    return [];
  } catch {
    return written.flatMap((line) => {
      try {
        return (JSON.parse(line) as { problems?: string[] }).problems ?? [line];
      } catch {
        return [line];
      }
    });
  } finally {
    stderr.mockRestore();
    exit.mockRestore();
  }
}

const overlays = readdirSync(OVERLAYS).sort();

describe.each(overlays)('the %s overlay, rendered', (overlay) => {
  const objects = render(overlay);

  it(`has only objects valid for their kind in Kubernetes ${KUBERNETES_VERSION}`, async () => {
    expect(objects.length).toBeGreaterThan(10);
    const problems: string[] = [];
    for (const obj of objects) {
      for (const p of await schemaProblems(obj)) problems.push(`${describe_(obj)}: ${p}`);
      const model = modelName(String(obj.apiVersion), String(obj.kind));
      for (const field of unknownFields(obj, model, '')) problems.push(`${describe_(obj)}: unknown field ${field.slice(1)}`);
    }
    expect(problems).toEqual([]);
  });

  it('gives every service the environment its configuration needs', async () => {
    const problems: string[] = [];
    const configured = new Set<string>();
    for (const obj of objects.filter((o) => o.kind === 'Deployment')) {
      const spec = isObject(obj.spec) && isObject(obj.spec.template) && isObject(obj.spec.template.spec) ? obj.spec.template.spec : {};
      for (const container of (spec.containers as Obj[] | undefined) ?? []) {
        const service = String(container.name);
        if (!services.includes(service)) continue;
        configured.add(service);
        const { env, problems: refs } = containerEnvironment(container, objects);
        for (const p of [...refs, ...(await configProblems(service, env))]) problems.push(`${describe_(obj)} container ${service}: ${p}`);
      }
    }
    expect(problems).toEqual([]);
    expect(services.filter((s) => !configured.has(s))).toEqual([]);
  });

  it('has a ServiceAccount for every service that names one, and a migrations Job for every schema', () => {
    const accounts = new Set(objects.filter((o) => o.kind === 'ServiceAccount').map((o) => (o.metadata as Obj).name));
    const named = objects
      .filter((o) => o.kind === 'Deployment')
      .map((o) => ((o.spec as Obj).template as { spec: Obj }).spec.serviceAccountName)
      .filter((n): n is string => typeof n === 'string');
    expect(named.filter((n) => !accounts.has(n))).toEqual([]);
    const job = objects.find((o) => o.kind === 'Job' && (o.metadata as Obj).name === 'launchpad-migrations');
    const commands = ((((job?.spec as Obj | undefined)?.template as { spec: Obj } | undefined)?.spec.containers as Obj[] | undefined) ?? []).map((c) =>
      (c.command as string[]).join(' '),
    );
    expect(commands.sort()).toEqual(
      services
        .filter((s) => existsSync(join(ROOT, 'apps', s, 'src', 'migrate.ts')))
        .map((s) => `node apps/${s}/dist/migrate.js`)
        .sort(),
    );
  });

  // The sessions and apps services' Roles grant Secrets (each workload's own); RBAC cannot limit
  // that by label, so they must be in a namespace of their own, holding no platform Secret.
  it('runs workloads in a namespace of their own, where alone the sessions and apps services have rights', () => {
    const problems = workloadNamespaceProblems(objects);
    expect(problems).toEqual([]);
  });
});

const namespaceOf = (o: Obj) => (isObject(o.metadata) ? o.metadata.namespace : undefined);
const nameOf = (o: Obj) => (isObject(o.metadata) ? o.metadata.name : undefined);

/** Where the rendered manifests give the sessions and apps services rights, or put workloads, outside the workloads namespace. */
function workloadNamespaceProblems(objects: Obj[]): string[] {
  const problems: string[] = [];
  const driving = ['sessions', 'apps'];
  const deployment = (service: string) => objects.find((o) => o.kind === 'Deployment' && nameOf(o) === service);
  const platform = namespaceOf(deployment('gateway') ?? {});
  if (typeof platform !== 'string') return ['the gateway Deployment has no namespace'];
  const accounts = new Map(driving.map((s) => [s, objects.find((o) => o.kind === 'ServiceAccount' && nameOf(o) === `launchpad-${s}`)]));
  const workloadsNamespaces = new Set<string>();
  for (const service of driving) {
    const d = deployment(service);
    const container = (((d?.spec as Obj | undefined)?.template as { spec: Obj } | undefined)?.spec.containers as Obj[] | undefined)?.find((c) => c.name === service);
    if (!d || !container) {
      problems.push(`no ${service} Deployment`);
      continue;
    }
    const { env } = containerEnvironment(container, objects);
    const workloads = env.KUBERNETES_NAMESPACE;
    if (!workloads) {
      problems.push(`${service}: no KUBERNETES_NAMESPACE`);
      continue;
    }
    workloadsNamespaces.add(workloads);
    if (workloads === platform || workloads === namespaceOf(d)) problems.push(`${service}: KUBERNETES_NAMESPACE ${workloads} is the platform's namespace`);
    const account = accounts.get(service);
    if (!account || namespaceOf(account) !== namespaceOf(d)) problems.push(`${service}: its ServiceAccount is not in its Deployment's namespace`);
    // Its Role and RoleBinding are in the workloads namespace, and bind the platform's ServiceAccount.
    const role = objects.find((o) => o.kind === 'Role' && nameOf(o) === `launchpad-${service}-runtime`);
    const binding = objects.find((o) => o.kind === 'RoleBinding' && nameOf(o) === `launchpad-${service}-runtime`);
    if (!role || namespaceOf(role) !== workloads) problems.push(`${service}: Role launchpad-${service}-runtime is not in ${workloads} (KUBERNETES_NAMESPACE)`);
    if (!binding || namespaceOf(binding) !== workloads) problems.push(`${service}: RoleBinding launchpad-${service}-runtime is not in ${workloads}`);
    const subjects = (binding?.subjects as Obj[] | undefined) ?? [];
    const expected = [{ kind: 'ServiceAccount', name: `launchpad-${service}`, namespace: namespaceOf(d) }];
    if (JSON.stringify(subjects) !== JSON.stringify(expected)) problems.push(`${service}: RoleBinding subjects ${JSON.stringify(subjects)}, not ${JSON.stringify(expected)}`);
    const rules = (role?.rules as Obj[] | undefined) ?? [];
    if (!rules.some((r) => (r.resources as string[]).includes('secrets'))) problems.push(`${service}: its Role grants nothing on secrets (the driver keeps workloads' Secrets)`);
  }
  if (workloadsNamespaces.size > 1) problems.push(`sessions and apps make workloads in different namespaces: ${[...workloadsNamespaces].join(', ')}`);
  // Nothing binds a sessions or apps ServiceAccount outside the workloads namespace, and no Role
  // anywhere else grants anything on secrets to them.
  for (const b of objects.filter((o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding')) {
    const bindsDriver = ((b.subjects as Obj[] | undefined) ?? []).some((s) => s.kind === 'ServiceAccount' && driving.some((d) => s.name === `launchpad-${d}`));
    if (!bindsDriver) continue;
    if (b.kind === 'ClusterRoleBinding' || !workloadsNamespaces.has(String(namespaceOf(b)))) problems.push(`${describe_(b)} in ${String(namespaceOf(b))} binds a sessions or apps ServiceAccount outside the workloads namespace`);
    const roleRef = b.roleRef as Obj;
    const role = objects.find((o) => o.kind === roleRef.kind && nameOf(o) === roleRef.name && (o.kind === 'ClusterRole' || namespaceOf(o) === namespaceOf(b)));
    const secrets = ((role?.rules as Obj[] | undefined) ?? []).some((r) => ((r.resources as string[] | undefined) ?? []).some((res) => res === 'secrets' || res === '*'));
    if (secrets && (b.kind === 'ClusterRoleBinding' || namespaceOf(b) === platform)) problems.push(`${describe_(b)} grants a sessions or apps ServiceAccount secrets in the platform's namespace`);
  }
  for (const r of objects.filter((o) => o.kind === 'Role' && namespaceOf(o) === platform)) {
    const secrets = ((r.rules as Obj[] | undefined) ?? []).some((rule) => ((rule.resources as string[] | undefined) ?? []).some((res) => res === 'secrets' || res === '*'));
    const bound = objects.some(
      (b) => b.kind === 'RoleBinding' && namespaceOf(b) === platform && (b.roleRef as Obj).name === nameOf(r) && ((b.subjects as Obj[] | undefined) ?? []).some((s) => driving.some((d) => s.name === `launchpad-${d}`)),
    );
    if (secrets && bound) problems.push(`${describe_(r)} in the platform's namespace grants sessions or apps secrets`);
  }
  // No platform Secret in the workloads namespace.
  for (const secret of objects.filter((o) => o.kind === 'Secret' && workloadsNamespaces.has(String(namespaceOf(o))))) problems.push(`${describe_(secret)} is in the workloads namespace`);
  // The workloads' NetworkPolicy is in the workloads namespace and lets in only the gateway and apps pods of the platform's.
  const policy = objects.find((o) => o.kind === 'NetworkPolicy' && nameOf(o) === 'launchpad-workloads');
  if (!policy || !workloadsNamespaces.has(String(namespaceOf(policy)))) problems.push('NetworkPolicy launchpad-workloads is not in the workloads namespace');
  const from = (((policy?.spec as Obj | undefined)?.ingress as Obj[] | undefined) ?? []).flatMap((i) => (i.from as Obj[] | undefined) ?? []);
  const peers = from.map((peer) => ({
    namespace: ((peer.namespaceSelector as Obj | undefined)?.matchLabels as Obj | undefined)?.['kubernetes.io/metadata.name'],
    pod: ((peer.podSelector as Obj | undefined)?.matchLabels as Obj | undefined)?.['app.kubernetes.io/name'],
  }));
  const expectedPeers = ['gateway', 'apps'].map((pod) => ({ namespace: platform, pod }));
  if (JSON.stringify(peers) !== JSON.stringify(expectedPeers)) problems.push(`NetworkPolicy launchpad-workloads lets in ${JSON.stringify(peers)}, not ${JSON.stringify(expectedPeers)}`);
  // A Namespace rendered for the workloads enforces Pod Security `restricted`.
  for (const ns of objects.filter((o) => o.kind === 'Namespace' && workloadsNamespaces.has(String(nameOf(o))))) {
    const labels = (ns.metadata as Obj).labels as Obj | undefined;
    if (labels?.['pod-security.kubernetes.io/enforce'] !== 'restricted') problems.push(`Namespace ${String(nameOf(ns))} does not enforce Pod Security restricted`);
  }
  return problems;
}

describe('the manifest checks', () => {
  it('catch an unknown field, a schema violation and a missing variable (they can fail)', async () => {
    const bad = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { template: { spec: { containers: [{ name: 'x', imagePullPolicy: 'Always', imagex: 'y' }] } } } };
    expect(unknownFields(bad, 'V1Deployment', '')).toEqual(['.spec.template.spec.containers[0].imagex']);
    expect((await schemaProblems(bad)).join()).toMatch(/selector/);
    expect(await configProblems('gateway', {})).not.toEqual([]);
  });

  it('catch workloads, or their Roles, in the platform namespace (they can fail)', () => {
    const objects = render('production');
    const moved = structuredClone(objects).map((o) =>
      o.kind === 'RoleBinding' || (o.kind === 'Role' && nameOf(o) === 'launchpad-sessions-runtime') ? { ...o, metadata: { ...(o.metadata as Obj), namespace: 'launchpad' } } : o,
    );
    expect(workloadNamespaceProblems(moved).join('\n')).toMatch(/Role launchpad-sessions-runtime is not in launchpad-workloads[\s\S]*grants a sessions or apps ServiceAccount secrets in the platform's namespace/);
    const sameNamespace = structuredClone(objects).map((o) =>
      o.kind === 'ConfigMap' && nameOf(o) === 'launchpad-config' ? { ...o, data: { ...(o.data as Obj), KUBERNETES_NAMESPACE: 'launchpad' } } : o,
    );
    expect(workloadNamespaceProblems(sameNamespace).join('\n')).toMatch(/KUBERNETES_NAMESPACE launchpad is the platform's namespace/);
    const openPolicy = structuredClone(objects).map((o) =>
      o.kind === 'NetworkPolicy' && nameOf(o) === 'launchpad-workloads' ? { ...o, metadata: { ...(o.metadata as Obj), namespace: 'launchpad' } } : o,
    );
    expect(workloadNamespaceProblems(openPolicy).join('\n')).toMatch(/NetworkPolicy launchpad-workloads is not in the workloads namespace/);
    expect(workloadNamespaceProblems(objects)).toEqual([]);
  });
});
