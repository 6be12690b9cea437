/**
 * GitLab as its documentation describes it, for tests: webhook payloads copied from
 * doc/user/project/integrations/webhook_events.md and doc/administration/system_hooks.md of the
 * gitlabhq/gitlabhq repository (comments and the trailing comma of the job example removed, since
 * GitLab sends JSON), and a small HTTP stand-in for the two REST endpoints the repair loop reads
 * (doc/api/pipelines.md "List project pipelines", doc/api/jobs.md "List pipeline jobs").
 */
import { createServer, type Server } from 'node:http';

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** webhook_events.md, "Pipeline events" (X-Gitlab-Event: Pipeline Hook). */
export const DOC_PIPELINE_EVENT = {
  object_kind: 'pipeline',
  object_attributes: {
    id: 31,
    iid: 3,
    name: 'Pipeline for branch: master',
    ref: 'master',
    tag: false,
    sha: 'bcbb5ec396a2c0f828686f14fac9b80b780504f2',
    before_sha: 'bcbb5ec396a2c0f828686f14fac9b80b780504f2',
    source: 'merge_request_event',
    status: 'success',
    stages: ['build', 'test', 'deploy'],
    created_at: '2016-08-12 15:23:28 UTC',
    finished_at: '2016-08-12 15:26:29 UTC',
    duration: 63,
    variables: [{ key: 'NESTOR_PROD_ENVIRONMENT', value: 'us-west-1' }],
    url: 'http://example.com/gitlab-org/gitlab-test/-/pipelines/31',
  },
  merge_request: {
    id: 1,
    iid: 1,
    title: 'Test',
    source_branch: 'test',
    source_project_id: 1,
    target_branch: 'master',
    target_project_id: 1,
    state: 'opened',
    merge_status: 'can_be_merged',
    detailed_merge_status: 'mergeable',
    url: 'http://192.168.64.1:3005/gitlab-org/gitlab-test/merge_requests/1',
  },
  user: { id: 1, name: 'Administrator', username: 'root', avatar_url: 'http://www.gravatar.com/avatar/e32bd13e2add097461cb96824b7a829c?s=80&d=identicon', email: 'user_email@gitlab.com' },
  project: {
    id: 1,
    name: 'Gitlab Test',
    description: 'Atque in sunt eos similique dolores voluptatem.',
    web_url: 'http://192.168.64.1:3005/gitlab-org/gitlab-test',
    avatar_url: null,
    git_ssh_url: 'git@192.168.64.1:gitlab-org/gitlab-test.git',
    git_http_url: 'http://192.168.64.1:3005/gitlab-org/gitlab-test.git',
    namespace: 'Gitlab Org',
    visibility_level: 20,
    path_with_namespace: 'gitlab-org/gitlab-test',
    default_branch: 'master',
  },
  commit: {
    id: 'bcbb5ec396a2c0f828686f14fac9b80b780504f2',
    message: 'test\n',
    timestamp: '2016-08-12T17:23:21+02:00',
    url: 'http://example.com/gitlab-org/gitlab-test/commit/bcbb5ec396a2c0f828686f14fac9b80b780504f2',
    author: { name: 'User', email: 'user@gitlab.com' },
  },
  source_pipeline: {
    project: { id: 41, web_url: 'https://gitlab.example.com/gitlab-org/upstream-project', path_with_namespace: 'gitlab-org/upstream-project' },
    pipeline_id: 30,
    job_id: 3401,
  },
  builds: [
    docPipelineJob({ id: 380, stage: 'deploy', name: 'production', status: 'skipped', started_at: null, finished_at: null, duration: null, queued_duration: null, when: 'manual', manual: true, runner: null, environment: { name: 'production', action: 'start', deployment_tier: 'production' } }),
    docPipelineJob({ id: 377, stage: 'test', name: 'test-image', status: 'success' }),
    docPipelineJob({ id: 378, stage: 'test', name: 'test-build', status: 'failed', failure_reason: 'script_failure' }),
    docPipelineJob({ id: 376, stage: 'build', name: 'build-image', status: 'success', started_at: '2016-08-12 15:24:56 UTC', finished_at: '2016-08-12 15:25:26 UTC' }),
    docPipelineJob({ id: 379, stage: 'deploy', name: 'staging', status: 'created', started_at: null, finished_at: null, duration: null, queued_duration: null, runner: null, environment: { name: 'staging', action: 'start', deployment_tier: 'staging' } }),
  ],
};

function docPipelineJob(fields: Record<string, unknown>) {
  return {
    id: 0,
    stage: 'test',
    name: '',
    status: 'success',
    created_at: '2016-08-12 15:23:28 UTC',
    started_at: '2016-08-12 15:26:12 UTC',
    finished_at: '2016-08-12 15:26:29 UTC',
    duration: 17.0,
    queued_duration: 196.0,
    failure_reason: null,
    when: 'on_success',
    manual: false,
    allow_failure: false,
    user: { id: 1, name: 'Administrator', username: 'root', avatar_url: 'http://www.gravatar.com/avatar/e32bd13e2add097461cb96824b7a829c?s=80&d=identicon', email: 'admin@example.com' },
    runner: { id: 380987, description: 'shared-runners-manager-6.gitlab.com', active: true, runner_type: 'instance_type', is_shared: true, tags: ['linux', 'docker'] },
    artifacts_file: { filename: null, size: null },
    environment: null,
    ...fields,
  };
}

/** webhook_events.md, "Job events" (X-Gitlab-Event: Job Hook). */
export const DOC_JOB_EVENT = {
  object_kind: 'build',
  ref: 'gitlab-script-trigger',
  tag: false,
  before_sha: '2293ada6b400935a1378653304eaf6221e0fdb8f',
  sha: '2293ada6b400935a1378653304eaf6221e0fdb8f',
  build_id: 1977,
  build_name: 'test',
  build_stage: 'test',
  build_status: 'created',
  build_created_at: '2021-02-23T02:41:37.886Z',
  build_created_at_iso: '2021-02-23T02:41:37Z',
  build_started_at: null,
  build_started_at_iso: null,
  build_finished_at: null,
  build_finished_at_iso: null,
  build_duration: null,
  build_queued_duration: 1095.588715,
  build_allow_failure: false,
  build_failure_reason: 'script_failure',
  retries_count: 2,
  pipeline_id: 2366,
  project_id: 380,
  project_name: 'gitlab-org/gitlab-test',
  user: { id: 3, name: 'User', email: 'user@gitlab.com', avatar_url: 'http://www.gravatar.com/avatar/e32bd13e2add097461cb96824b7a829c?s=80&d=identicon' },
  commit: {
    id: 2366,
    name: 'Build pipeline',
    sha: '2293ada6b400935a1378653304eaf6221e0fdb8f',
    message: 'test\n',
    author_name: 'User',
    author_email: 'user@gitlab.com',
    status: 'created',
    duration: null,
    started_at: null,
    started_at_iso: null,
    finished_at: null,
    finished_at_iso: null,
  },
  repository: {
    name: 'gitlab_test',
    description: 'Atque in sunt eos similique dolores voluptatem.',
    homepage: 'http://192.168.64.1:3005/gitlab-org/gitlab-test',
    git_ssh_url: 'git@192.168.64.1:gitlab-org/gitlab-test.git',
    git_http_url: 'http://192.168.64.1:3005/gitlab-org/gitlab-test.git',
    visibility_level: 20,
  },
  project: {
    id: 380,
    name: 'Gitlab Test',
    description: 'Atque in sunt eos similique dolores voluptatem.',
    web_url: 'http://192.168.64.1:3005/gitlab-org/gitlab-test',
    avatar_url: null,
    git_ssh_url: 'git@192.168.64.1:gitlab-org/gitlab-test.git',
    git_http_url: 'http://192.168.64.1:3005/gitlab-org/gitlab-test.git',
    namespace: 'Gitlab Org',
    visibility_level: 20,
    path_with_namespace: 'gitlab-org/gitlab-test',
    default_branch: 'master',
  },
  runner: { active: true, runner_type: 'project_type', is_shared: false, id: 380987, description: 'shared-runners-manager-6.gitlab.com', tags: ['linux', 'docker'] },
  environment: null,
  source_pipeline: {
    project: { id: 41, web_url: 'https://gitlab.example.com/gitlab-org/upstream-project', path_with_namespace: 'gitlab-org/upstream-project' },
    pipeline_id: 30,
    job_id: 3401,
  },
};

/** webhook_events.md, "Push events" (X-Gitlab-Event: Push Hook). */
export const DOC_PUSH_EVENT = {
  object_kind: 'push',
  event_name: 'push',
  before: '95790bf891e76fee5e1747ab589903a6a1f80f22',
  after: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7',
  ref: 'refs/heads/master',
  ref_protected: true,
  checkout_sha: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7',
  user_id: 4,
  user_name: 'John Smith',
  user_username: 'jsmith',
  user_email: 'john@example.com',
  user_avatar: 'https://s.gravatar.com/avatar/d4c74594d841139328695756648b6bd6?s=8://s.gravatar.com/avatar/d4c74594d841139328695756648b6bd6?s=80',
  project_id: 15,
  project: {
    id: 15,
    name: 'Diaspora',
    description: '',
    web_url: 'http://example.com/mike/diaspora',
    avatar_url: null,
    git_ssh_url: 'git@example.com:mike/diaspora.git',
    git_http_url: 'http://example.com/mike/diaspora.git',
    namespace: 'Mike',
    visibility_level: 0,
    path_with_namespace: 'mike/diaspora',
    default_branch: 'master',
    homepage: 'http://example.com/mike/diaspora',
    url: 'git@example.com:mike/diaspora.git',
    ssh_url: 'git@example.com:mike/diaspora.git',
    http_url: 'http://example.com/mike/diaspora.git',
  },
  repository: {
    name: 'Diaspora',
    url: 'git@example.com:mike/diaspora.git',
    description: '',
    homepage: 'http://example.com/mike/diaspora',
    git_http_url: 'http://example.com/mike/diaspora.git',
    git_ssh_url: 'git@example.com:mike/diaspora.git',
    visibility_level: 0,
  },
  commits: [
    {
      id: 'b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327',
      message: 'Update Catalan translation to e38cb41.\n\nSee https://gitlab.com/gitlab-org/gitlab for more information',
      title: 'Update Catalan translation to e38cb41.',
      timestamp: '2011-12-12T14:27:31+02:00',
      url: 'http://example.com/mike/diaspora/commit/b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327',
      author: { name: 'Jordi Mallach', email: 'jordi@softcatala.org' },
      added: ['CHANGELOG'],
      modified: ['app/controller/application.rb'],
      removed: [],
    },
    {
      id: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7',
      message: 'fixed readme',
      title: 'fixed readme',
      timestamp: '2012-01-03T23:36:29+02:00',
      url: 'http://example.com/mike/diaspora/commit/da1560886d4f094c3e6c9ef40349f7d38b5d27d7',
      author: { name: 'GitLab dev user', email: 'gitlabdev@dv6700.(none)' },
      added: ['CHANGELOG'],
      modified: ['app/controller/application.rb'],
      removed: [],
    },
  ],
  total_commits_count: 4,
};

const owners = [{ name: 'John', email: 'user1@example.com' }];

/** system_hooks.md, "Hooks request example" (X-Gitlab-Event: System Hook). */
export const DOC_SYSTEM_HOOKS = {
  project_create: { created_at: '2012-07-21T07:30:54Z', updated_at: '2012-07-21T07:38:22Z', event_name: 'project_create', name: 'StoreCloud', owner_email: 'johnsmith@example.com', owner_name: 'John Smith', owners, path: 'storecloud', path_with_namespace: 'jsmith/storecloud', project_id: 74, project_namespace_id: 23, project_visibility: 'private' },
  project_destroy: { created_at: '2012-07-21T07:30:58Z', updated_at: '2012-07-21T07:38:22Z', event_name: 'project_destroy', name: 'Underscore', owner_email: 'johnsmith@example.com', owner_name: 'John Smith', owners, path: 'underscore', path_with_namespace: 'jsmith/underscore', project_id: 73, project_namespace_id: 23, project_visibility: 'internal' },
  project_rename: { created_at: '2012-07-21T07:30:58Z', updated_at: '2012-07-21T07:38:22Z', event_name: 'project_rename', name: 'Underscore', path: 'underscore', path_with_namespace: 'jsmith/underscore', project_id: 73, owner_name: 'John Smith', owner_email: 'johnsmith@example.com', owners, project_namespace_id: 23, project_visibility: 'internal', old_path_with_namespace: 'jsmith/overscore' },
  user_add_to_team: { created_at: '2012-07-21T07:30:56Z', updated_at: '2012-07-21T07:38:22Z', event_name: 'user_add_to_team', access_level: 'Maintainer', project_id: 74, project_name: 'StoreCloud', project_path: 'storecloud', project_path_with_namespace: 'jsmith/storecloud', user_email: 'johnsmith@example.com', user_name: 'John Smith', user_username: 'johnsmith', user_id: 41, project_visibility: 'private' },
  user_remove_from_team: { created_at: '2012-07-21T07:30:56Z', updated_at: '2012-07-21T07:38:22Z', event_name: 'user_remove_from_team', access_level: 'Maintainer', project_id: 74, project_name: 'StoreCloud', project_path: 'storecloud', project_path_with_namespace: 'jsmith/storecloud', user_email: 'johnsmith@example.com', user_name: 'John Smith', user_username: 'johnsmith', user_id: 41, project_visibility: 'private' },
  user_update_for_team: { created_at: '2012-07-21T07:30:56Z', updated_at: '2012-07-21T07:38:22Z', event_name: 'user_update_for_team', access_level: 'Maintainer', project_id: 74, project_name: 'StoreCloud', project_path: 'storecloud', project_path_with_namespace: 'jsmith/storecloud', user_email: 'johnsmith@example.com', user_name: 'John Smith', user_username: 'johnsmith', user_id: 41, project_visibility: 'private' },
  user_rename: { event_name: 'user_rename', created_at: '2017-11-01T11:21:04Z', updated_at: '2017-11-01T14:04:47Z', name: 'new-name', email: 'best-email@example.tld', user_id: 58, username: 'new-exciting-name', old_username: 'old-boring-name' },
  user_destroy: { created_at: '2012-07-21T07:44:07Z', updated_at: '2012-07-21T07:38:22Z', email: 'js@gitlabhq.com', event_name: 'user_destroy', name: 'John Smith', username: 'js', user_id: 41 },
};

export interface ProjectRef {
  id: number;
  path: string;
  defaultBranch?: string;
}

const projectFields = (p: ProjectRef) => ({
  id: p.id,
  name: p.path.split('/').pop(),
  web_url: `https://gitlab.test/${p.path}`,
  git_ssh_url: `git@gitlab.test:${p.path}.git`,
  git_http_url: `https://gitlab.test/${p.path}.git`,
  path_with_namespace: p.path,
  default_branch: p.defaultBranch ?? 'main',
});

/** The documented pipeline event, about another project, commit and pipeline, with the image job (`build-image`) in the given state. */
export function pipelineHook(
  p: ProjectRef,
  o: {
    sha: string;
    ref?: string;
    /** A tag pipeline (`ref` is then the tag). */
    tag?: boolean;
    /** `object_attributes.source`: push (the default), merge_request_event, schedule, web, api, trigger... */
    source?: string;
    /** For a merge request pipeline: the merge request it runs for. */
    mergeRequest?: { iid: number; sourceBranch: string; targetBranch?: string };
    pipelineId: number;
    status: string;
    imageJob?: { id: number; status: string; failure_reason?: string | null } | null;
    /** This many more jobs, as GitLab lists them (for pipelines of hundreds of jobs). */
    extraJobs?: number;
  },
) {
  const hook = clone(DOC_PIPELINE_EVENT) as any;
  Object.assign(hook.object_attributes, {
    id: o.pipelineId,
    sha: o.sha,
    before_sha: o.sha,
    ref: o.ref ?? 'main',
    tag: o.tag ?? false,
    source: o.source ?? 'push',
    name: o.tag ? `Pipeline for tag: ${o.ref}` : `Pipeline for branch: ${o.ref ?? 'main'}`,
    status: o.status,
    url: `https://gitlab.test/${p.path}/-/pipelines/${o.pipelineId}`,
  });
  if (o.mergeRequest) {
    Object.assign(hook.merge_request, {
      iid: o.mergeRequest.iid,
      source_branch: o.mergeRequest.sourceBranch,
      target_branch: o.mergeRequest.targetBranch ?? p.defaultBranch ?? 'main',
      source_project_id: p.id,
      target_project_id: p.id,
    });
  } else {
    hook.merge_request = null;
  }
  Object.assign(hook.project, projectFields(p));
  hook.commit.id = o.sha;
  hook.builds = hook.builds.filter((b: any) => b.name !== 'build-image');
  if (o.imageJob !== null) {
    const job = o.imageJob ?? { id: o.pipelineId * 10, status: 'created' };
    hook.builds.push(docPipelineJob({ id: job.id, stage: 'build', name: 'build-image', status: job.status, failure_reason: job.failure_reason ?? null }));
  }
  for (let i = 0; i < (o.extraJobs ?? 0); i++) {
    hook.builds.push(docPipelineJob({ id: o.pipelineId * 10_000 + i, stage: 'test', name: `test ${i + 1}/${o.extraJobs}`, status: 'success' }));
  }
  return hook;
}

/** A tag pipeline (`ref` the tag, `tag: true`), as GitLab runs for a tag pushed on an existing commit; by default without the image job. */
export function tagPipelineHook(p: ProjectRef, o: { sha: string; tagName: string; pipelineId: number; status: string; imageJob?: { id: number; status: string } | null }) {
  return pipelineHook(p, { sha: o.sha, ref: o.tagName, tag: true, pipelineId: o.pipelineId, status: o.status, imageJob: o.imageJob ?? null });
}

/**
 * A merge request pipeline (`source: merge_request_event`) for the head of the merge request's
 * source branch; its ref is `refs/merge-requests/<iid>/head`. By default it runs tests only.
 */
export function mergeRequestPipelineHook(p: ProjectRef, o: { sha: string; iid: number; sourceBranch: string; pipelineId: number; status: string; imageJob?: { id: number; status: string } | null }) {
  return pipelineHook(p, {
    sha: o.sha,
    ref: `refs/merge-requests/${o.iid}/head`,
    source: 'merge_request_event',
    mergeRequest: { iid: o.iid, sourceBranch: o.sourceBranch },
    pipelineId: o.pipelineId,
    status: o.status,
    imageJob: o.imageJob ?? null,
  });
}

/** A scheduled pipeline (`source: schedule`) of a branch; by default without the image job (a nightly test run). */
export function scheduledPipelineHook(p: ProjectRef, o: { sha: string; ref?: string; pipelineId: number; status: string; imageJob?: { id: number; status: string } | null }) {
  return pipelineHook(p, { sha: o.sha, ref: o.ref, source: 'schedule', pipelineId: o.pipelineId, status: o.status, imageJob: o.imageJob ?? null });
}

/** The documented job event for the image job (`build-image`). */
export function jobHook(p: ProjectRef, o: { sha: string; ref?: string; pipelineId: number; jobId: number; status: string; failure_reason?: string | null; name?: string }) {
  const hook = clone(DOC_JOB_EVENT) as any;
  Object.assign(hook, {
    ref: o.ref ?? 'main',
    sha: o.sha,
    before_sha: o.sha,
    build_id: o.jobId,
    build_name: o.name ?? 'build-image',
    build_stage: 'build',
    build_status: o.status,
    build_failure_reason: o.failure_reason ?? null,
    pipeline_id: o.pipelineId,
    project_id: p.id,
    project_name: p.path,
  });
  Object.assign(hook.commit, { id: o.pipelineId, sha: o.sha, status: o.status });
  Object.assign(hook.project, projectFields(p));
  return hook;
}

/** The documented push event, about another project and commit. */
export function pushHook(p: ProjectRef, o: { after: string; ref?: string }) {
  const hook = clone(DOC_PUSH_EVENT) as any;
  Object.assign(hook, { after: o.after, checkout_sha: o.after, ref: `refs/heads/${o.ref ?? 'main'}`, project_id: p.id });
  Object.assign(hook.project, projectFields(p));
  hook.commits[1].id = o.after;
  return hook;
}

/**
 * Group webhook events (webhook_events.md, "Group member events" and "Subgroup events"; Premium):
 * they have no `object_kind` and name no project.
 */
export const DOC_GROUP_HOOKS = {
  /** X-Gitlab-Event: Member Hook */
  user_add_to_group: { created_at: '2020-12-11T04:57:22Z', updated_at: '2020-12-11T04:57:22Z', group_name: 'webhook-test', group_path: 'webhook-test', group_id: 100, user_username: 'test_user', user_name: 'Test User', user_email: 'testuser@webhooktest.com', user_id: 64, group_access: 'Guest', group_plan: null, expires_at: '2020-12-14T00:00:00Z', event_name: 'user_add_to_group' },
  /** X-Gitlab-Event: Subgroup Hook */
  subgroup_create: { created_at: '2021-01-20T09:40:12Z', updated_at: '2021-01-20T09:40:12Z', event_name: 'subgroup_create', name: 'subgroup1', path: 'subgroup1', full_path: 'group1/subgroup1', group_id: 10, parent_group_id: 7, parent_name: 'group1', parent_path: 'group1', parent_full_path: 'group1' },
  /** X-Gitlab-Event: Project Hook ("Project events" of group webhooks, GitLab 17.6+) */
  project_create: { event_name: 'project_create', created_at: '2024-10-07T10:43:48Z', updated_at: '2024-10-07T10:43:48Z', name: 'project1', path: 'project1', path_with_namespace: 'group1/project1', project_id: 22, project_namespace_id: 32, owners: [{ name: 'John', email: 'user1@example.com' }], project_visibility: 'private' },
};

/** The X-Gitlab-Event header GitLab sends with each group hook above. */
export const GROUP_HOOK_EVENTS: Record<keyof typeof DOC_GROUP_HOOKS, string> = { user_add_to_group: 'Member Hook', subgroup_create: 'Subgroup Hook', project_create: 'Project Hook' };

/** A documented system hook with other values. */
export function systemHook<K extends keyof typeof DOC_SYSTEM_HOOKS>(name: K, fields: Record<string, unknown> = {}) {
  return { ...clone(DOC_SYSTEM_HOOKS[name]), ...fields };
}

// --- the REST API stand-in ------------------------------------------------------------------

export interface StandInPipeline {
  id: number;
  sha: string;
  ref: string;
  /** A tag pipeline (`ref` is the tag). */
  tag?: boolean;
  /** push (the default), merge_request_event, schedule... */
  source?: string;
  status: string;
  jobs: { id: number; name: string; status: string; failure_reason?: string | null }[];
}

export interface GitLabStandIn {
  url: string;
  /** Pipelines per GitLab project id, as GitLab would list them. */
  pipelines: Map<number, StandInPipeline[]>;
  requests: string[];
  /** Every request with the PRIVATE-TOKEN it carried (or null). */
  tokens: (string | null)[];
  /** While true, every request gets a 502, as a GitLab behind a failing load balancer would. */
  down: boolean;
  /** Projects whose API answers 200 with an HTML page (a sign-in page of a proxy in front of GitLab). */
  html: Set<number>;
  /** Projects whose API answers 302 to another address (e.g. a moved GitLab). */
  redirects: Map<number, string>;
  close(): Promise<void>;
}

/**
 * Stands for GitLab's REST API v4 as doc/api/pipelines.md and doc/api/jobs.md describe it:
 * `PRIVATE-TOKEN` authentication (401 `{"message":"401 Unauthorized"}` otherwise), pipelines
 * filtered by `sha` and ordered by id descending by default, jobs of a pipeline newest first,
 * offset pagination (`page`, `per_page`, default 20, with `X-Next-Page`), and the documented
 * response fields the repair loop reads.
 */
export async function startGitLabStandIn(token: string): Promise<GitLabStandIn> {
  const state: GitLabStandIn = { url: '', pipelines: new Map(), requests: [], tokens: [], down: false, html: new Set(), redirects: new Map(), close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    state.requests.push(`${req.method} ${url.pathname}${url.search}`);
    const presented = req.headers['private-token'];
    state.tokens.push(typeof presented === 'string' ? presented : null);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (state.down) return send(502, { message: '502 Bad Gateway' });
    const project = Number(/^\/api\/v4\/projects\/(\d+)\//.exec(url.pathname)?.[1]);
    const redirect = state.redirects.get(project);
    if (redirect) {
      res.writeHead(302, { location: `${redirect}${url.pathname}${url.search}` });
      return res.end();
    }
    if (state.html.has(project)) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return res.end('<!DOCTYPE html><html><head><title>Sign in</title></head><body>Sign in to continue</body></html>');
    }
    if (presented !== token) return send(401, { message: '401 Unauthorized' });
    const m = /^\/api\/v4\/projects\/(\d+)\/pipelines(?:\/(\d+)\/jobs)?$/.exec(url.pathname);
    if (!m || req.method !== 'GET') return send(404, { error: '404 Not Found' });
    const pipelines = state.pipelines.get(Number(m[1]));
    if (!pipelines) return send(404, { message: '404 Project Not Found' });
    const perPage = Math.min(Number(url.searchParams.get('per_page') ?? 20), 100);
    const page = Number(url.searchParams.get('page') ?? 1);
    const paginate = <T>(items: T[]) => {
      const slice = items.slice((page - 1) * perPage, page * perPage);
      const next = page * perPage < items.length ? String(page + 1) : '';
      return send(200, slice, { 'x-next-page': next, 'x-page': String(page), 'x-per-page': String(perPage), 'x-total': String(items.length) });
    };
    // On the stand-in itself (its GITLAB_URL): links elsewhere would be dropped.
    const webUrl = `${state.url}/project-${m[1]}`;
    if (m[2] === undefined) {
      const sha = url.searchParams.get('sha');
      const found = pipelines.filter((p) => !sha || p.sha === sha).sort((a, b) => b.id - a.id);
      return paginate(
        found.map((p) => ({ id: p.id, iid: p.id, project_id: Number(m[1]), status: p.status, source: p.source ?? 'push', ref: p.ref, sha: p.sha, name: 'Build pipeline', web_url: `${webUrl}/-/pipelines/${p.id}`, created_at: '2016-08-11T11:28:34.085Z', updated_at: '2016-08-11T11:32:35.169Z' })),
      );
    }
    const pipeline = pipelines.find((p) => p.id === Number(m[2]));
    if (!pipeline) return send(404, { message: '404 Not found' });
    return paginate(
      [...pipeline.jobs]
        .sort((a, b) => b.id - a.id)
        .map((j) => ({
          id: j.id,
          name: j.name,
          stage: 'build',
          status: j.status,
          failure_reason: j.failure_reason ?? undefined,
          ref: pipeline.ref,
          tag: pipeline.tag ?? false,
          allow_failure: false,
          created_at: '2015-12-24T15:51:21.727Z',
          started_at: j.status === 'created' || j.status === 'pending' ? null : '2015-12-24T17:54:24.729Z',
          finished_at: ['success', 'failed', 'canceled'].includes(j.status) ? '2015-12-24T17:54:24.921Z' : null,
          web_url: `${webUrl}/-/jobs/${j.id}`,
          pipeline: { id: pipeline.id, project_id: Number(m[1]), ref: pipeline.ref, sha: pipeline.sha, status: pipeline.status },
          commit: { id: pipeline.sha, short_id: pipeline.sha.slice(0, 8), title: 'Test the CI integration.' },
        })),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  state.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  state.close = () => new Promise((resolve) => server.close(() => resolve()));
  return state;
}
