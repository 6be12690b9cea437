import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { Logger } from '@nestjs/common';
import { CommonErrorCode, DomainError, uuidSchema } from '@launchpad/contracts';
import type { NextFunction, Request, Response } from 'express';
import type { AppProxy } from '../app-proxy/app-proxy.js';
import { sendProblem } from '../problems/problem.filter.js';
import type { SessionProxy } from '../session-proxy/session-proxy.js';
import { APP_SLUG, type Origins } from './origins.js';
import { normalisedTarget, refuseUpgrade } from './proxy-hygiene.js';
import { requestIdFor } from '@launchpad/telemetry';
import { traced } from '../http/request-pipeline.js';

const logger = new Logger('HostRouter');

/**
 * The gateway's first decision, by `Host`, on the raw node:http request: a session's origin goes
 * to the session proxy, an app's to the app proxy, and only what is neither reaches the API
 * (Express and Nest, `api`). Proxied requests never pass Express: its request decoration and
 * router cost more than the proxying itself, and their bodies stream through untouched.
 */
export function frontDoor(origins: Origins, sessions: SessionProxy, apps: AppProxy, api: (req: IncomingMessage, res: ServerResponse) => void) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const target = origins.classify(req.headers.host);
    if (target.kind === 'api') return api(req, res);
    traced(req, res, () => {
      (req as { id?: string }).id = requestIdFor(req, res);
      if (target.kind === 'session') return sessions.handle(target.id, req, res);
      if (target.kind === 'app') return apps.handle(target.slug, req, res);
      sendProblem(new DomainError(CommonErrorCode.ROUTE_NOT_FOUND, `no ${target.under} has this name (${req.headers.host ?? ''})`), req, res, logger);
    });
  };
}

/** On the API's origin, which serves no user content: old path-based links move to their own origin. */
export function legacyLinks(origins: Origins) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (/^\/(sessions|a)(\/|$|\?)/.test(req.url)) return legacyRedirect(origins, req, res);
    next();
  };
}

/** WebSocket upgrades, by `Host` as well; none is served on the API's origin. */
export function hostUpgrades(origins: Origins, sessions: SessionProxy, apps: AppProxy) {
  return (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    const target = origins.classify(req.headers.host);
    if (target.kind === 'session') return sessions.upgrade(target.id, req, socket, head);
    if (target.kind === 'app') return apps.upgrade(target.slug, req, socket, head);
    refuseUpgrade(socket, 404, 'Not Found');
  };
}

/**
 * `/sessions/<id>/<rest>` and `/a/<slug>/<rest>` (links from before each had its own origin) →
 * 308 to `<origin>/<rest>`, query kept (a `?token=` is traded for a cookie there). The path is
 * normalised first: `/a/x/../../metrics` is `/metrics`, which no app is.
 */
function legacyRedirect(origins: Origins, req: Request, res: Response): void {
  try {
    const { path, search } = normalisedTarget(req.url);
    const match = /^\/(sessions|a)\/([^/]+)(\/.*)?$/s.exec(path);
    const query = search.toString();
    const rest = `${match?.[3] ?? '/'}${query ? `?${query}` : ''}`;
    if (match?.[1] === 'sessions' && uuidSchema.safeParse(match[2]).success) return void res.redirect(308, `${origins.session(match[2]!)}${rest}`);
    if (match?.[1] === 'a' && APP_SLUG.test(match[2]!)) return void res.redirect(308, `${origins.app(match[2]!)}${rest}`);
    throw new DomainError(CommonErrorCode.ROUTE_NOT_FOUND, `no session or app at ${path}: sessions are at <id>.<sessions domain>, apps at <slug>.<apps domain>; see GET /api/v1/sessions/{id} or /api/v1/apps/{id} for the url`);
  } catch (error) {
    sendProblem(error, req, res, logger);
  }
}
