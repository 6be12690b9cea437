import { classLimitProblems, resourceClassInputSchema, updateResourceClassInputSchema } from './resource-pool.js';

const issuesOf = (input: unknown) => {
  const result = resourceClassInputSchema.safeParse(input);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('resource class inputs', () => {
  it('fills defaults when a class is created', () => {
    expect(resourceClassInputSchema.parse({ name: 'Small', cpu: 1, memoryGb: 2, gpu: 0 })).toEqual({
      name: 'Small',
      cpu: 1,
      memoryGb: 2,
      gpu: 0,
      diskGb: 10,
      isDefault: false,
      gpuResourceName: null,
      nodeSelector: {},
      tolerations: [],
      cpuLimit: null,
      memoryLimitGb: null,
      storageClassName: null,
    });
  });

  it('changes only what an update names (no defaults sneak in)', () => {
    expect(updateResourceClassInputSchema.parse({ cpu: 2 })).toEqual({ cpu: 2 });
    expect(updateResourceClassInputSchema.safeParse({}).success).toBe(false);
  });

  it('takes a GPU class’s placement: its resource name, node labels, tolerations, limits and storage class', () => {
    const gpu = resourceClassInputSchema.parse({
      name: 'A100',
      cpu: 8,
      memoryGb: 64,
      gpu: 1,
      gpuResourceName: 'nvidia.com/gpu',
      nodeSelector: { 'nvidia.com/gpu.product': 'NVIDIA-A100-SXM4-80GB', pool: 'gpu' },
      tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }, { key: 'dedicated', value: 'gpu' }],
      cpuLimit: 16,
      memoryLimitGb: 64,
      storageClassName: 'fast-ssd',
    });
    expect(gpu.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }, { key: 'dedicated', operator: 'Equal', value: 'gpu' }]);
    expect(gpu).toMatchObject({ cpuLimit: 16, memoryLimitGb: 64, storageClassName: 'fast-ssd' });
  });

  it('refuses what Kubernetes would refuse: limits below requests, bad labels, tolerations and resource names', () => {
    const base = { name: 'X', cpu: 2, memoryGb: 4, gpu: 0 };
    expect(issuesOf({ ...base, cpuLimit: 1, memoryLimitGb: 2 })).toEqual(['cpuLimit: must be at least cpu (2)', 'memoryLimitGb: must be at least memoryGb (4)']);
    expect(issuesOf({ ...base, gpuResourceName: 'gpu' })).toEqual([expect.stringMatching(/^gpuResourceName: must be an extended resource name/)]);
    expect(issuesOf({ ...base, nodeSelector: { 'bad key!': 'x' } })).toEqual([expect.stringMatching(/^nodeSelector.bad key!: "bad key!" must be a label key/)]);
    expect(issuesOf({ ...base, nodeSelector: { pool: 'not a value' } })).toEqual([expect.stringMatching(/^nodeSelector.pool: must be a label value/)]);
    expect(issuesOf({ ...base, tolerations: [{ key: 'k', operator: 'Exists', value: 'v' }] })).toEqual(['tolerations.0.value: a toleration with operator "Exists" takes no value']);
    expect(issuesOf({ ...base, tolerations: [{ value: 'v' }] })).toEqual(['tolerations.0.key: a toleration with operator "Equal" needs a key']);
    expect(issuesOf({ ...base, tolerations: [{ key: 'k', effect: 'NoSchedule', tolerationSeconds: 5 }] })).toEqual(['tolerations.0.tolerationSeconds: only a "NoExecute" toleration has tolerationSeconds']);
    expect(issuesOf({ ...base, storageClassName: 'Fast_SSD' })).toEqual([expect.stringMatching(/^storageClassName: must be a StorageClass name/)]);
  });

  it('checks limits against requests on the class as an update leaves it', () => {
    expect(classLimitProblems({ cpu: 4, memoryGb: 8, cpuLimit: 2, memoryLimitGb: null })).toEqual([{ path: 'cpuLimit', message: 'must be at least cpu (4)' }]);
    expect(classLimitProblems({ cpu: 1, memoryGb: 1, cpuLimit: null, memoryLimitGb: 1 })).toEqual([]);
  });
});
