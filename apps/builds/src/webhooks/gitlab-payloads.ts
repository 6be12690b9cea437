import { z } from 'zod';
import { buildStatusOfJob, imageFor, isFinishedPipeline, noImageJobReason, type Observation } from '../builds/build-status.js';

/**
 * GitLab's project hook payloads (doc/user/project/integrations/webhook_events.md), read for what
 * a build record needs. Objects are loose: GitLab adds fields over time, and we read only ours.
 */
const gitlabId = z.number().int().nonnegative();
const time = z.string().nullish();
const sha = z.string().regex(/^[0-9a-f]{40}$|^[0-9a-f]{64}$/, { message: 'must be a full commit id' });

const project = z.looseObject({
  id: gitlabId,
  path_with_namespace: z.string().min(1),
  web_url: z.string().nullish(),
  default_branch: z.string().nullish(),
});

const pipelineJob = z.looseObject({
  id: gitlabId,
  name: z.string(),
  status: z.string(),
  started_at: time,
  finished_at: time,
  failure_reason: z.string().nullish(),
});

export const pipelineHookSchema = z.looseObject({
  object_kind: z.literal('pipeline'),
  object_attributes: z.looseObject({
    id: gitlabId,
    ref: z.string().nullish(),
    tag: z.boolean().nullish(),
    sha,
    status: z.string(),
    created_at: time,
    finished_at: time,
    url: z.string().nullish(),
  }),
  project,
  builds: z.array(pipelineJob).default([]),
});

export const jobHookSchema = z.looseObject({
  object_kind: z.literal('build'),
  ref: z.string().nullish(),
  tag: z.boolean().nullish(),
  sha,
  build_id: gitlabId,
  build_name: z.string(),
  build_status: z.string(),
  build_started_at: time,
  build_finished_at: time,
  build_failure_reason: z.string().nullish(),
  pipeline_id: gitlabId,
  project_id: gitlabId,
  project,
});

export const pushHookSchema = z.looseObject({
  object_kind: z.literal('push'),
  ref: z.string(),
  after: z.string(),
  checkout_sha: z.string().nullish(),
  project_id: gitlabId,
  project,
});

export interface BuildSettings {
  registry: string;
  jobName: string;
}

/** What a project hook means for us. */
export type ProjectHookMeaning = { kind: 'build'; observation: Observation; image: string } | { kind: 'ignored'; reason: string };

/** The GitLab project a project hook is about: `project.id` (or `project_id`), as our project id. */
export function projectIdOf(body: Record<string, unknown>): string | null {
  const nested = (body.project as { id?: unknown } | undefined)?.id;
  const id = typeof nested === 'number' ? nested : body.project_id;
  return typeof id === 'number' && Number.isInteger(id) && id >= 0 ? String(id) : null;
}

/**
 * GitLab writes times as ISO 8601 (`2021-02-23T02:41:37.886Z`) in job hooks and the API, and as
 * `2016-08-12 15:23:28 UTC` or `2021-04-28 21:50:00 +0200` in pipeline hooks.
 */
export function parseGitLabTime(value: string | null | undefined): Date | null {
  if (!value) return null;
  const normalised = value
    .trim()
    .replace(/^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)/, '$1T$2')
    .replace(/ UTC$/, 'Z')
    .replace(/ ([+-]\d\d):?(\d\d)$/, '$1:$2');
  const date = new Date(normalised);
  return Number.isNaN(date.getTime()) ? null : date;
}

const jobUrl = (webUrl: string | null | undefined, jobId: number) => (webUrl ? `${webUrl}/-/jobs/${jobId}` : null);

/** A pipeline hook: the image job's state in it (the newest job of that name), or "it has none" once the pipeline finished. */
export function readPipelineHook(body: unknown, settings: BuildSettings): ProjectHookMeaning {
  const hook = pipelineHookSchema.parse(body);
  const a = hook.object_attributes;
  const base = {
    projectId: String(hook.project.id),
    sha: a.sha,
    projectPath: hook.project.path_with_namespace,
    ref: a.ref ?? null,
    tag: a.tag ?? false,
    defaultBranch: hook.project.default_branch ?? null,
    pipelineId: a.id,
    pipelineUrl: a.url ?? (hook.project.web_url ? `${hook.project.web_url}/-/pipelines/${a.id}` : null),
  };
  const image = imageFor(settings.registry, base.projectPath, a.sha);
  const job = hook.builds.filter((b) => b.name === settings.jobName).sort((x, y) => y.id - x.id)[0];
  if (job) {
    const state = buildStatusOfJob(job.status, job.failure_reason);
    if (!state) return { kind: 'ignored', reason: `job ${job.id} has a status we do not know: ${job.status}` };
    return {
      kind: 'build',
      image,
      observation: {
        ...base,
        ...state,
        jobId: job.id,
        jobUrl: jobUrl(hook.project.web_url, job.id),
        startedAt: parseGitLabTime(job.started_at),
        finishedAt: parseGitLabTime(job.finished_at),
      },
    };
  }
  if (!isFinishedPipeline(a.status)) {
    return { kind: 'build', image, observation: { ...base, status: 'pending', failureReason: null, jobId: null, jobUrl: null, startedAt: null, finishedAt: null } };
  }
  return {
    kind: 'build',
    image,
    observation: {
      ...base,
      status: 'failed',
      failureReason: noImageJobReason(a.id, a.status, settings.jobName),
      jobId: null,
      jobUrl: null,
      startedAt: null,
      finishedAt: parseGitLabTime(a.finished_at) ?? new Date(),
    },
  };
}

/** A job hook: only the image job's concern us. */
export function readJobHook(body: unknown, settings: BuildSettings): ProjectHookMeaning {
  const hook = jobHookSchema.parse(body);
  if (hook.build_name !== settings.jobName) return { kind: 'ignored', reason: `job ${hook.build_name} is not the image job (${settings.jobName})` };
  const state = buildStatusOfJob(hook.build_status, hook.build_failure_reason);
  if (!state) return { kind: 'ignored', reason: `job ${hook.build_id} has a status we do not know: ${hook.build_status}` };
  const projectPath = hook.project.path_with_namespace;
  return {
    kind: 'build',
    image: imageFor(settings.registry, projectPath, hook.sha),
    observation: {
      projectId: String(hook.project_id),
      sha: hook.sha,
      projectPath,
      ref: hook.ref ?? null,
      tag: hook.tag ?? false,
      defaultBranch: hook.project.default_branch ?? null,
      ...state,
      pipelineId: hook.pipeline_id,
      pipelineUrl: hook.project.web_url ? `${hook.project.web_url}/-/pipelines/${hook.pipeline_id}` : null,
      jobId: hook.build_id,
      jobUrl: jobUrl(hook.project.web_url, hook.build_id),
      startedAt: parseGitLabTime(hook.build_started_at),
      finishedAt: parseGitLabTime(hook.build_finished_at),
    },
  };
}

/**
 * A push to a branch announces a commit before its pipeline does: it becomes a `pending` build
 * (if none is known), so that a session can wait for it and the repair loop can ask GitLab about
 * it should the pipeline hooks be lost. Branch deletions and pushes of no new head are ignored.
 */
export function readPushHook(body: unknown, settings: BuildSettings): ProjectHookMeaning {
  const hook = pushHookSchema.parse(body);
  const head = hook.checkout_sha ?? hook.after;
  if (!/^[0-9a-f]{40}$|^[0-9a-f]{64}$/.test(head) || /^0+$/.test(head)) return { kind: 'ignored', reason: 'the push deleted the branch' };
  if (!hook.ref.startsWith('refs/heads/')) return { kind: 'ignored', reason: `${hook.ref} is not a branch` };
  const projectPath = hook.project.path_with_namespace;
  return {
    kind: 'build',
    image: imageFor(settings.registry, projectPath, head),
    observation: {
      projectId: String(hook.project_id),
      sha: head,
      projectPath,
      ref: hook.ref.slice('refs/heads/'.length),
      tag: false,
      defaultBranch: hook.project.default_branch ?? null,
      status: 'pending',
      pipelineId: null,
      pipelineUrl: null,
      jobId: null,
      jobUrl: null,
      failureReason: null,
      startedAt: null,
      finishedAt: null,
    },
  };
}

/** Reads a project hook by its object_kind; kinds that have nothing to do with builds are ignored. */
export function readProjectHook(body: Record<string, unknown>, settings: BuildSettings): ProjectHookMeaning {
  switch (body.object_kind) {
    case 'pipeline':
      return readPipelineHook(body, settings);
    case 'build':
      return readJobHook(body, settings);
    case 'push':
      return readPushHook(body, settings);
    default:
      return { kind: 'ignored', reason: `${typeof body.object_kind === 'string' ? body.object_kind : 'this'} event has nothing to do with image builds` };
  }
}
