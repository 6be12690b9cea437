import { jobHook, pipelineHook } from '../../../../tools/testing/gitlab.js';
import { forwardedWebhookBody } from './webhook-body.js';

describe('what the gateway passes on of a GitLab webhook', () => {
  it("cuts every job of a pipeline hook down to the fields the builds service reads, keeping every job (the image job is the builds service's to find)", () => {
    const hook = pipelineHook({ id: 1, path: 'lab/big' }, { sha: 'a'.repeat(40), pipelineId: 9, status: 'running', imageJob: { id: 90, status: 'running' }, extraJobs: 400 });
    const forwarded = forwardedWebhookBody(hook);
    expect((forwarded.builds as unknown[]).length).toBe(hook.builds.length);
    expect((forwarded.builds as Record<string, unknown>[]).find((j) => j.id === 90)).toEqual({
      id: 90,
      name: 'build-image',
      status: 'running',
      started_at: expect.any(String),
      finished_at: expect.any(String),
      failure_reason: null,
    });
    expect(forwarded.object_attributes).toEqual(hook.object_attributes);
    expect(forwarded.project).toEqual(hook.project);
    // Well under NATS's max_payload (1 MiB), whatever the webhook body limit lets in.
    expect(JSON.stringify(forwarded).length).toBeLessThan(JSON.stringify(hook).length / 3);
  });

  it('passes other deliveries on untouched', () => {
    const job = jobHook({ id: 1, path: 'lab/big' }, { sha: 'a'.repeat(40), pipelineId: 9, jobId: 90, status: 'running' });
    expect(forwardedWebhookBody(job)).toBe(job);
    const odd = { object_kind: 'pipeline', builds: 'not a list' };
    expect(forwardedWebhookBody(odd)).toBe(odd);
  });
});
