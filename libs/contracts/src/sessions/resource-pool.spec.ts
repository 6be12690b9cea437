import { resourceClassInputSchema, updateResourceClassInputSchema } from './resource-pool.js';

describe('resource class inputs', () => {
  it('fills defaults when a class is created', () => {
    expect(resourceClassInputSchema.parse({ name: 'Small', cpu: 1, memoryGb: 2, gpu: 0 })).toEqual({ name: 'Small', cpu: 1, memoryGb: 2, gpu: 0, diskGb: 10, isDefault: false });
  });

  it('changes only what an update names (no defaults sneak in)', () => {
    expect(updateResourceClassInputSchema.parse({ cpu: 2 })).toEqual({ cpu: 2 });
    expect(updateResourceClassInputSchema.safeParse({}).success).toBe(false);
  });
});
