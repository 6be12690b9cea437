import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** The ports workloads listen on: inclusive bounds. */
export interface PortRange {
  low: number;
  high: number;
}

/**
 * Where workloads' ports come from: above the range the kernel takes outgoing connections' local
 * ports from (`ip_local_port_range`, 32768–60999 by default), when at least `minimum` ports are
 * left there; null (any free port) when not. A port picked inside that range can be taken by a
 * connection opened before the program binds it (a readiness probe, a client), and the program's
 * listen then fails with EADDRINUSE: seen with 50 launches at once, each probed every few ms.
 */
export function workloadPortRange(ephemeral: string, minimum = 1024): PortRange | null {
  const [, high] = ephemeral.trim().split(/\s+/).map(Number);
  if (!Number.isInteger(high) || high! < 1 || 65535 - high! < minimum) return null;
  return { low: high! + 1, high: 65535 };
}

let range: PortRange | null | undefined;
/** Ports handed out lately, and when: their programs may not have bound them yet. */
const handedOut = new Map<number, number>();
const HANDED_OUT_MS = 60_000;
/** Random picks before a scan of the whole range: a range mostly taken still finds its free ports. */
const RANDOM_PICKS = 32;

function configuredRange(): PortRange | null {
  if (range === undefined) {
    try {
      range = workloadPortRange(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'));
    } catch {
      range = null;
    }
  }
  return range;
}

/**
 * A port free on every address of this machine now, for a program to listen on in a moment: a
 * free one of `ports` (workloadPortRange) picked at random, none handed out in the last minute
 * (so two starts of this process never get the same one however close together); else any port
 * the kernel has free. At random, not in turn: ports handed out in turn could be guessed, and a
 * workload that binds the next one first makes that start fail (the firewall keeps it from
 * answering, not from binding).
 */
export async function freeLocalPort(ports: PortRange | null = configuredRange(), now = Date.now()): Promise<number> {
  if (ports) {
    for (const [port, at] of handedOut) {
      if (now - at < HANDED_OUT_MS) break;
      handedOut.delete(port);
    }
    const size = ports.high - ports.low + 1;
    const hand = (port: number) => (handedOut.delete(port), handedOut.set(port, now), port);
    for (let pick = 0; pick < Math.min(RANDOM_PICKS, size); pick++) {
      const port = ports.low + randomInt(size);
      if (!handedOut.has(port) && (await listenable(port))) return hand(port);
    }
    // Mostly taken: every port of the range, from a random one on, the lately handed out last.
    const start = randomInt(size);
    const order = Array.from({ length: size }, (_, i) => ports.low + ((start + i) % size));
    for (const port of [...order.filter((p) => !handedOut.has(p)), ...order.filter((p) => handedOut.has(p))]) {
      if (await listenable(port)) return hand(port);
    }
  }
  return listenable(0) as Promise<number>;
}

/**
 * Binds `port` (0: any) on every address of the machine at once (`::`, dual-stack; `0.0.0.0`
 * where there is no IPv6) and lets it go: the port bound, or false when it is taken. Not on
 * 127.0.0.1 only: a workload that listens on the port at another address (127.0.0.2, ::1) leaves
 * 127.0.0.1 free, and the program handed the port would then fail to bind it if it serves on every
 * address (`0.0.0.0`, `::`, as `python -m http.server` does): one user's launches failed at will.
 */
async function listenable(port: number): Promise<number | false> {
  try {
    return await listenOnce(port, '::');
  } catch (error) {
    if (!NO_IPV6.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
    return listenOnce(port, '0.0.0.0');
  }
}

const NO_IPV6 = new Set(['EAFNOSUPPORT', 'EADDRNOTAVAIL', 'EPROTONOSUPPORT']);

function listenOnce(port: number, host: string): Promise<number | false> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', (error: NodeJS.ErrnoException) => (port !== 0 && (error.code === 'EADDRINUSE' || error.code === 'EACCES') ? resolve(false) : reject(error)));
    // ipv6Only false: the one `::` socket holds the port for IPv4 too, whatever net.ipv6.bindv6only says.
    server.listen({ port, host, ipv6Only: false }, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('could not pick a free port'))));
    });
  });
}
