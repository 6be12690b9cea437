/**
 * What the test programs (app-program.mjs, session-program.mjs) answer to a plain request: the
 * request as it reached them, and which process and folder they are. Fields only one of them
 * sends are optional.
 */
export interface Echoed {
  pid: number;
  url: string;
  method: string;
  cwd: string;
  headers: Record<string, string | undefined>;
  startedAt?: number;
  body?: string;
  files?: string[];
  env?: Record<string, string>;
  secret?: string | null;
}

export async function echoed(res: Response): Promise<Echoed> {
  return (await res.json()) as Echoed;
}
