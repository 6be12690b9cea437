import { Inject, Injectable } from '@nestjs/common';
import { z } from 'zod';
import { BUILDS_CONFIG, type BuildsConfig } from '../config.js';

/** GitLab could not be asked (down, unreachable, 5xx, timed out): try again on the next pass. */
export class GitLabUnavailable extends Error {}
/** GitLab answered, but refused or does not know the thing (401, 403, 404). */
export class GitLabRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** doc/api/pipelines.md, "List project pipelines": the fields we read. */
const pipelineSchema = z.looseObject({ id: z.number().int(), sha: z.string(), ref: z.string().nullish(), status: z.string(), web_url: z.string().nullish() });
/** doc/api/jobs.md, "List pipeline jobs": the fields we read. */
const jobSchema = z.looseObject({
  id: z.number().int(),
  name: z.string(),
  status: z.string(),
  ref: z.string().nullish(),
  tag: z.boolean().nullish(),
  failure_reason: z.string().nullish(),
  started_at: z.string().nullish(),
  finished_at: z.string().nullish(),
  web_url: z.string().nullish(),
});
export type ApiPipeline = z.infer<typeof pipelineSchema>;
export type ApiJob = z.infer<typeof jobSchema>;

const MAX_PAGES = 10;

/** The two GitLab REST calls the repair loop needs, with the API token from configuration. */
@Injectable()
export class GitLabApi {
  constructor(@Inject(BUILDS_CONFIG) private readonly config: BuildsConfig) {}

  get enabled(): boolean {
    return this.config.gitlab.apiToken !== undefined;
  }

  /** The pipelines GitLab ran for a commit, newest first. */
  async pipelinesOf(projectId: string, sha: string): Promise<ApiPipeline[]> {
    const page = await this.get(`/projects/${encodeURIComponent(projectId)}/pipelines?sha=${sha}&order_by=id&sort=desc&per_page=20`);
    return z.array(pipelineSchema).parse(page.body);
  }

  /** Every job of a pipeline (following pagination), newest first. */
  async jobsOf(projectId: string, pipelineId: number): Promise<ApiJob[]> {
    const jobs: ApiJob[] = [];
    for (let page = 1; page <= MAX_PAGES; page++) {
      const res = await this.get(`/projects/${encodeURIComponent(projectId)}/pipelines/${pipelineId}/jobs?per_page=100&page=${page}`);
      jobs.push(...z.array(jobSchema).parse(res.body));
      if (!res.nextPage) break;
    }
    return jobs;
  }

  private async get(path: string): Promise<{ body: unknown; nextPage: boolean }> {
    const url = `${this.config.gitlab.url}/api/v4${path}`;
    let res: Response;
    try {
      // Never follow a redirect: it would carry the PRIVATE-TOKEN to wherever it points.
      res = await fetch(url, {
        headers: { 'PRIVATE-TOKEN': this.config.gitlab.apiToken ?? '', accept: 'application/json' },
        redirect: 'manual',
        signal: AbortSignal.timeout(10_000),
      });
    } catch (error) {
      throw new GitLabUnavailable(`GitLab at ${this.config.gitlab.url} could not be reached: ${(error as Error).message}`);
    }
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel().catch(() => undefined);
      throw new GitLabRefused(
        res.status,
        `GitLab answered ${res.status} to GET ${path}, redirecting to ${res.headers.get('location') ?? '(nowhere)'}: not followed with the API token; set GITLAB_URL to the address GitLab answers at`,
      );
    }
    if (res.status >= 500 || res.status === 429) throw new GitLabUnavailable(`GitLab answered ${res.status} to GET ${path}`);
    if (!res.ok) {
      const text = await res.text().catch(() => '');
      throw new GitLabRefused(res.status, `GitLab answered ${res.status} to GET ${path}: ${text.slice(0, 200)}`);
    }
    const text = await res.text();
    try {
      return { body: JSON.parse(text) as unknown, nextPage: Boolean(res.headers.get('x-next-page')) };
    } catch {
      const type = res.headers.get('content-type') ?? 'no content type';
      throw new GitLabRefused(res.status, `GitLab answered ${res.status} to GET ${path} with something other than JSON (${type}): is GITLAB_URL the base URL of GitLab?`);
    }
  }
}
