import { z } from 'zod';
import { branchOrTag, buildStatusOfJob, imageFor, isFinishedPipeline, noImageJobReason, type Observation } from '../builds/build-status.js';
import { onGitLab } from '../builds/gitlab-url.js';

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
  merge_request: z.looseObject({ source_branch: z.string().nullish() }).nullish(),
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
  /** GITLAB_URL: links in a payload are kept only when they are on it (onGitLab). */
  gitlabUrl: string;
}

/** What a project hook means for us. */
export type ProjectHookMeaning = { kind: 'build'; observation: Observation; image: string } | { kind: 'ignored'; reason: string };

/**
 * The project a delivery is about, once its token was verified against that project's secret: its
 * id, and its path as we know it (null: we know none, take the payload's). Every reader writes
 * under this id, whatever else the payload says.
 */
export interface DeliveryProject {
  id: string;
  path: string | null;
}

export type ProjectIdOf = { kind: 'found'; projectId: string } | { kind: 'missing' } | { kind: 'invalid'; reason: string; path: string };

const isGitLabId = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 0;

/**
 * The GitLab project a project hook is about. GitLab names it as `project.id` and, in job and push
 * events, again as `project_id`: both must be GitLab ids and agree, or the delivery is refused (a
 * token verified for one project must not write under another).
 */
export function projectIdOf(body: Record<string, unknown>): ProjectIdOf {
  const project = body.project;
  const nested = project !== null && typeof project === 'object' ? (project as { id?: unknown }).id : undefined;
  const named: { path: string; value: unknown }[] = [
    { path: 'project.id', value: nested },
    { path: 'project_id', value: body.project_id },
  ].filter((n) => n.value !== undefined && n.value !== null);
  if (named.length === 0) return { kind: 'missing' };
  const bad = named.find((n) => !isGitLabId(n.value));
  if (bad) return { kind: 'invalid', path: bad.path, reason: 'must be a GitLab project id (a non-negative integer)' };
  const ids = new Set(named.map((n) => String(n.value)));
  if (ids.size > 1) return { kind: 'invalid', path: 'project_id', reason: 'project.id and project_id name different projects' };
  return { kind: 'found', projectId: [...ids][0]! };
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

const jobUrl = (webUrl: string | null, jobId: number) => (webUrl ? `${webUrl.replace(/\/+$/, '')}/-/jobs/${jobId}` : null);
const pipelineUrlOf = (webUrl: string | null, pipelineId: number) => (webUrl ? `${webUrl.replace(/\/+$/, '')}/-/pipelines/${pipelineId}` : null);

/** A pipeline hook: the image job's state in it (the newest job of that name), or "it has none" once the pipeline finished. */
export function readPipelineHook(body: unknown, settings: BuildSettings, project: DeliveryProject): ProjectHookMeaning {
  const hook = pipelineHookSchema.parse(body);
  const a = hook.object_attributes;
  const webUrl = onGitLab(hook.project.web_url, settings.gitlabUrl);
  const base = {
    projectId: project.id,
    sha: a.sha,
    projectPath: project.path ?? hook.project.path_with_namespace,
    // A merge request pipeline's ref is the merge request's: its commit is the source branch's head.
    ref: branchOrTag(a.ref) ?? (a.ref ? (hook.merge_request?.source_branch ?? null) : null),
    tag: a.tag ?? false,
    defaultBranch: hook.project.default_branch ?? null,
    pipelineId: a.id,
    pipelineUrl: onGitLab(a.url, settings.gitlabUrl) ?? pipelineUrlOf(webUrl, a.id),
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
        jobUrl: jobUrl(webUrl, job.id),
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
export function readJobHook(body: unknown, settings: BuildSettings, project: DeliveryProject): ProjectHookMeaning {
  const hook = jobHookSchema.parse(body);
  if (hook.build_name !== settings.jobName) return { kind: 'ignored', reason: `job ${hook.build_name} is not the image job (${settings.jobName})` };
  const state = buildStatusOfJob(hook.build_status, hook.build_failure_reason);
  if (!state) return { kind: 'ignored', reason: `job ${hook.build_id} has a status we do not know: ${hook.build_status}` };
  const projectPath = project.path ?? hook.project.path_with_namespace;
  const webUrl = onGitLab(hook.project.web_url, settings.gitlabUrl);
  return {
    kind: 'build',
    image: imageFor(settings.registry, projectPath, hook.sha),
    observation: {
      projectId: project.id,
      sha: hook.sha,
      projectPath,
      ref: branchOrTag(hook.ref),
      tag: hook.tag ?? false,
      defaultBranch: hook.project.default_branch ?? null,
      ...state,
      pipelineId: hook.pipeline_id,
      pipelineUrl: pipelineUrlOf(webUrl, hook.pipeline_id),
      jobId: hook.build_id,
      jobUrl: jobUrl(webUrl, hook.build_id),
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
export function readPushHook(body: unknown, settings: BuildSettings, project: DeliveryProject): ProjectHookMeaning {
  const hook = pushHookSchema.parse(body);
  const head = hook.checkout_sha ?? hook.after;
  if (!/^[0-9a-f]{40}$|^[0-9a-f]{64}$/.test(head) || /^0+$/.test(head)) return { kind: 'ignored', reason: 'the push deleted the branch' };
  if (!hook.ref.startsWith('refs/heads/')) return { kind: 'ignored', reason: `${hook.ref} is not a branch` };
  const projectPath = project.path ?? hook.project.path_with_namespace;
  return {
    kind: 'build',
    image: imageFor(settings.registry, projectPath, head),
    observation: {
      projectId: project.id,
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

/** The kinds of project hook that can change a build; every other kind is answered "ignored" before anything else. */
export const BUILD_HOOK_KINDS: ReadonlySet<unknown> = new Set(['pipeline', 'build', 'push']);

/** Reads a project hook by its object_kind, under the verified project; kinds that have nothing to do with builds are ignored. */
export function readProjectHook(body: Record<string, unknown>, settings: BuildSettings, project: DeliveryProject): ProjectHookMeaning {
  switch (body.object_kind) {
    case 'pipeline':
      return readPipelineHook(body, settings, project);
    case 'build':
      return readJobHook(body, settings, project);
    case 'push':
      return readPushHook(body, settings, project);
    default:
      return { kind: 'ignored', reason: IGNORED_KIND };
  }
}

/** Said to every delivery of a kind we do not read: the same words whatever it was, so they tell nothing. */
export const IGNORED_KIND = 'this kind of event has nothing to do with image builds; nothing changed';
