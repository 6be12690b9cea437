import { z } from 'zod';
import { defineRpc } from '../rpc.js';
import { principalSchema } from '../principal.js';
import { userIdSchema, uuidSchema } from '../ids.js';
import {
  createResourcePoolInputSchema,
  resourceClassIdSchema,
  resourceClassInputSchema,
  resourceClassSchema,
  resourcePoolSchema,
  updateResourceClassInputSchema,
  updateResourcePoolInputSchema,
} from './resource-pool.js';
import { launchSessionInputSchema, sessionProgressSchema, sessionSchema, sessionStatusSchema, updateSessionInputSchema } from './session.js';

const caller = { caller: principalSchema };
const ok = z.object({ ok: z.literal(true) });

export const sessionsRpc = {
  launch: defineRpc(
    'sessions.rpc.session.launch',
    z.object({ ...caller, input: launchSessionInputSchema }),
    z.object({ created: z.boolean(), session: sessionSchema }),
  ),
  list: defineRpc('sessions.rpc.session.list', z.object(caller), z.object({ items: z.array(sessionSchema) })),
  get: defineRpc('sessions.rpc.session.get', z.object({ ...caller, id: uuidSchema }), sessionSchema),
  update: defineRpc('sessions.rpc.session.update', z.object({ ...caller, id: uuidSchema, input: updateSessionInputSchema }), sessionSchema),
  delete: defineRpc('sessions.rpc.session.delete', z.object({ ...caller, id: uuidSchema }), ok),
  logs: defineRpc(
    'sessions.rpc.session.logs',
    z.object({ ...caller, id: uuidSchema, lines: z.number().int().min(1).max(5000) }),
    z.object({ lines: z.array(z.string()) }),
  ),
  progress: defineRpc(
    'sessions.rpc.session.progress',
    z.object({ ...caller, id: uuidSchema, afterSeq: z.number().int().min(0).default(0) }),
    z.object({ items: z.array(sessionProgressSchema), status: sessionStatusSchema }),
  ),
  /** For the gateway's proxy: where the caller's own session listens. Not found for anyone else. */
  route: defineRpc(
    'sessions.rpc.session.route',
    z.object({ ...caller, id: uuidSchema }),
    z.object({
      status: sessionStatusSchema,
      endpoint: z.string().nullable(),
      /** The session's own secret, which its program takes as its credential (Jupyter's token): the gateway adds it to what it proxies. */
      secret: z.string().nullable().optional(),
    }),
  ),

  listPools: defineRpc('sessions.rpc.pool.list', z.object(caller), z.object({ items: z.array(resourcePoolSchema) })),
  getPool: defineRpc('sessions.rpc.pool.get', z.object({ ...caller, id: uuidSchema }), resourcePoolSchema),
  createPool: defineRpc('sessions.rpc.pool.create', z.object({ ...caller, input: createResourcePoolInputSchema }), resourcePoolSchema),
  updatePool: defineRpc(
    'sessions.rpc.pool.update',
    z.object({ ...caller, id: uuidSchema, input: updateResourcePoolInputSchema }),
    resourcePoolSchema,
  ),
  deletePool: defineRpc('sessions.rpc.pool.delete', z.object({ ...caller, id: uuidSchema }), ok),
  addClass: defineRpc(
    'sessions.rpc.pool.class.add',
    z.object({ ...caller, poolId: uuidSchema, input: resourceClassInputSchema }),
    resourceClassSchema,
  ),
  updateClass: defineRpc(
    'sessions.rpc.pool.class.update',
    z.object({ ...caller, classId: resourceClassIdSchema, input: updateResourceClassInputSchema }),
    resourceClassSchema,
  ),
  deleteClass: defineRpc('sessions.rpc.pool.class.delete', z.object({ ...caller, classId: resourceClassIdSchema }), ok),
  addPoolUser: defineRpc('sessions.rpc.pool.user.add', z.object({ ...caller, poolId: uuidSchema, userId: userIdSchema }), ok),
  removePoolUser: defineRpc('sessions.rpc.pool.user.remove', z.object({ ...caller, poolId: uuidSchema, userId: userIdSchema }), ok),
} as const;
