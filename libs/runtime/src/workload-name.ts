import { RuntimeError, RuntimeErrorCode } from './runtime-error.js';

/** Kubernetes' DNS-1123 label: what a Service, a StatefulSet's pod or a label value may be called. */
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function isDns1123Label(name: string): boolean {
  return DNS_1123_LABEL.test(name);
}

/** The longest app id whose replica names (`<appId>-g<generation>-r<ordinal>`, or a pod's suffix) still fit in a label. */
export const MAX_APP_ID_LENGTH = 40;

/** Throws INVALID_SPEC unless `id` may name a workload in every driver. */
export function assertWorkloadName(id: string, what = 'workload id'): void {
  if (!isDns1123Label(id)) {
    throw new RuntimeError(
      RuntimeErrorCode.INVALID_SPEC,
      `invalid ${what} "${id}": it names cluster objects, so it must be a DNS-1123 label (lowercase letters, digits and '-', at most 63 characters, starting and ending with a letter or digit)`,
    );
  }
}

export function assertAppName(appId: string): void {
  assertWorkloadName(appId, 'app id');
  if (appId.length > MAX_APP_ID_LENGTH) {
    throw new RuntimeError(RuntimeErrorCode.INVALID_SPEC, `invalid app id "${appId}": at most ${MAX_APP_ID_LENGTH} characters, so that its replicas' names fit in 63`);
  }
}
