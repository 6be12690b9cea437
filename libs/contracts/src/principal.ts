import { z } from 'zod';

/** Who is calling: the gateway authenticates the token and passes this along with every RPC. */
export const principalSchema = z.object({
  userId: z.string().min(1).max(255),
  admin: z.boolean(),
});
export type Principal = z.infer<typeof principalSchema>;
