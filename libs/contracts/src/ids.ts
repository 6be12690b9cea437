import { z } from 'zod';

export const uuidSchema = z.uuid({ message: 'must be a UUID, e.g. 3f2b6c1e-8d4a-4c1f-9b1e-2a7d5e9c0f13' });

/** GitLab project ids are numbers; other project services use slugs. Both fit this. */
export const projectIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, {
    message: 'must be 1-100 letters, digits, dots, dashes or underscores, starting with a letter or digit',
  });

export const userIdSchema = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[^\s/]+$/, { message: 'must not contain spaces or slashes' });
