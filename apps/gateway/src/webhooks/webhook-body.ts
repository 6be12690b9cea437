/** The fields of a pipeline hook's jobs (`builds[]`) that the builds service reads (apps/builds gitlab-payloads.ts). */
const JOB_FIELDS = ['id', 'name', 'status', 'started_at', 'finished_at', 'failure_reason'] as const;

/**
 * What goes on to the builds service over NATS (whose max_payload, 1 MiB by default, bounds a
 * message): a pipeline hook lists every job of the pipeline with its runner, user, artifacts and
 * environment (about 1 KiB each), so each job is cut down to the fields the builds service reads
 * (about a fifth of that). Which job is the image job is the builds service's to know
 * (BUILD_JOB_NAME), so every job stays. Anything else passes untouched.
 */
export function forwardedWebhookBody(body: Record<string, unknown>): Record<string, unknown> {
  if (body.object_kind !== 'pipeline' || !Array.isArray(body.builds)) return body;
  const builds = body.builds.map((job: unknown) =>
    job !== null && typeof job === 'object' && !Array.isArray(job)
      ? Object.fromEntries(JOB_FIELDS.filter((field) => field in job).map((field) => [field, (job as Record<string, unknown>)[field]]))
      : job,
  );
  return { ...body, builds };
}
