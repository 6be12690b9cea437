import { z } from 'zod';
import { CommonErrorCode, DomainError, type ErrorDetail } from './errors.js';

/** Turns zod issues into details a person can act on: where, and what is wrong there. */
export function zodIssuesToDetails(error: z.ZodError): ErrorDetail[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      const where = path ? ` in ${path}` : '';
      return { path, message: `unknown field${issue.keys.length > 1 ? 's' : ''}${where}: ${issue.keys.join(', ')}` };
    }
    return { path, message: issue.message };
  });
}

/** Parses input with a schema, throwing a VALIDATION_FAILED domain error that names every bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const details = zodIssuesToDetails(result.error);
  const summary = details.map((d) => (d.path ? `${d.path}: ${d.message}` : d.message)).join('; ');
  throw new DomainError(CommonErrorCode.VALIDATION_FAILED, `invalid ${what}: ${summary}`, details);
}
