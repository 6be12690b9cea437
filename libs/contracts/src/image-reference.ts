/**
 * OCI image references, following the grammar of distribution/reference (the one Docker, containerd
 * and Kubernetes use):
 *
 *   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [ domain "/" ] path-component { "/" path-component }
 *   domain    := host [ ":" port ]
 *
 * We additionally require a tag or a digest: an environment must say which image it runs.
 */
export interface ImageReference {
  registry?: string;
  port?: number;
  repository: string;
  tag?: string;
  digest?: string;
}

export type ImageReferenceResult =
  | { ok: true; reference: ImageReference }
  | { ok: false; part: 'reference' | 'registry' | 'port' | 'repository' | 'tag' | 'digest'; message: string };

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const IPV6_HOST = /^\[[a-fA-F0-9:]+\]$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST_ALGORITHMS: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
const MAX_NAME_LENGTH = 255;

function fail(part: Exclude<ImageReferenceResult, { ok: true }>['part'], message: string): ImageReferenceResult {
  return { ok: false, part, message };
}

export function parseImageReference(input: string): ImageReferenceResult {
  if (input.length === 0) return fail('reference', 'the image reference is empty');
  if (/\s/.test(input)) return fail('reference', 'the image reference must not contain white space');

  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    const [algorithm, hex, ...extra] = digest.split(':');
    const expected = algorithm === undefined ? undefined : DIGEST_ALGORITHMS[algorithm];
    if (expected === undefined || hex === undefined || extra.length > 0) {
      return fail('digest', `digest "${digest}" must look like sha256:<64 hex characters>`);
    }
    if (!new RegExp(`^[a-f0-9]{${expected}}$`).test(hex)) {
      return fail('digest', `digest ${algorithm} must be exactly ${expected} lowercase hex characters, got ${hex.length} characters "${hex}"`);
    }
  }

  // A colon after the last slash separates the tag; one before it belongs to a registry port.
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > lastSlash) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG.test(tag)) {
      return fail('tag', `tag "${tag}" must be 1-128 letters, digits, "_", "." or "-", not starting with "." or "-"`);
    }
  }
  if (tag === undefined && digest === undefined) {
    return fail('tag', `"${input}" names no tag or digest: add one, e.g. "${input}:1.0" or "${input}@sha256:<digest>"`);
  }

  if (rest.length === 0) return fail('repository', 'the repository name is missing');
  if (rest.length > MAX_NAME_LENGTH) return fail('repository', `the image name is longer than ${MAX_NAME_LENGTH} characters`);

  const components = rest.split('/');
  let registry: string | undefined;
  let port: number | undefined;
  const first = components[0] ?? '';
  // Like distribution/reference: the first component is a registry if it looks like a host.
  if (components.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost' || /[A-Z]/.test(first) || first.startsWith('['))) {
    components.shift();
    let host = first;
    const portMatch = /^(.*):([^:\]]*)$/.exec(first);
    if (portMatch && !IPV6_HOST.test(first)) {
      host = portMatch[1] ?? '';
      const portText = portMatch[2] ?? '';
      if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
        return fail('port', `registry port "${portText}" must be a number from 1 to 65535`);
      }
      port = Number(portText);
    }
    const hostOk = IPV6_HOST.test(host) || (host.length > 0 && host.split('.').every((c) => DOMAIN_COMPONENT.test(c)));
    if (!hostOk) {
      return fail('registry', `registry host "${host}" is not a valid host name (letters, digits and "-", in dot-separated parts)`);
    }
    registry = host;
  }

  for (const component of components) {
    if (!PATH_COMPONENT.test(component)) {
      const hint = /[A-Z]/.test(component) ? ' (repository names must be lowercase)' : '';
      return fail(
        'repository',
        `repository path component "${component}" must be lowercase letters and digits, separated by ".", "_", "__" or "-"${hint}`,
      );
    }
  }

  return {
    ok: true,
    reference: {
      ...(registry !== undefined ? { registry } : {}),
      ...(port !== undefined ? { port } : {}),
      repository: components.join('/'),
      ...(tag !== undefined ? { tag } : {}),
      ...(digest !== undefined ? { digest } : {}),
    },
  };
}
