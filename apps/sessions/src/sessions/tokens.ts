/** Injection tokens of the sessions feature. */
export const SESSIONS_CULLING = Symbol('SESSIONS_CULLING');
export const SESSION_RUNTIME = Symbol('SESSION_RUNTIME');
