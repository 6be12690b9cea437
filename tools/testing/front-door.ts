import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Stand-ins for what the gateway's front door hands a fast path (keptLists, webhookIngest): the
 * access log, recording `<request id> <status>` of each answer in `logged`, and the API (Express
 * and Nest), recording `<method> <url>` of each request it gets in `asked` and answering
 * "from the api", so a spec can tell which requests the fast path left to it.
 */
export function frontDoorDoubles(logged: string[], asked: string[]) {
  const accessLog = (req: IncomingMessage, res: ServerResponse, next: () => void) => {
    res.on('finish', () => logged.push(`${(req as { id?: string }).id} ${res.statusCode}`));
    next();
  };
  const api = (req: IncomingMessage, res: ServerResponse) => {
    asked.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => res.end('from the api'));
  };
  return { accessLog, api };
}
