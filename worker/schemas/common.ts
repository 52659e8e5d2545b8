import { z } from '@hono/zod-openapi';

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      issues: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
    }),
  })
  .openapi('Error');

export const Id = z.string().trim().min(1).max(128);

/** Comma-separated list in a query string, or an array in a JSON body. */
export const IdList = z.preprocess(
  (v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v),
  z.array(Id).max(200),
);

export const errorResponses = {
  400: { description: 'Invalid request', content: { 'application/json': { schema: ErrorSchema } } },
} as const;

/** Public routes: a session id the caller may not use (not issued by the worker, or to someone else). */
export const sessionErrorResponses = {
  403: { description: 'session_not_issued: the session id was not issued by the worker to this caller; server_key_required: a bulk (multi-session) batch without X-P13n-Server-Key', content: { 'application/json': { schema: ErrorSchema } } },
} as const;

export const adminErrorResponses = {
  ...errorResponses,
  401: { description: 'Missing or wrong admin token', content: { 'application/json': { schema: ErrorSchema } } },
} as const;
