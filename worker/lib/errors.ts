/** One JSON error shape for every 4xx/5xx the worker answers. */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';

export interface ErrorIssue {
  field: string;
  message: string;
}

export interface ErrorBody {
  error: { code: string; message: string; issues?: ErrorIssue[] };
}

export function errorBody(code: string, message: string, issues?: ErrorIssue[]): ErrorBody {
  return { error: { code, message, ...(issues && issues.length ? { issues } : {}) } };
}

export function jsonError(c: Context, status: ContentfulStatusCode, code: string, message: string, issues?: ErrorIssue[]) {
  return c.json(errorBody(code, message, issues), status);
}

/** Zod issues -> field paths a caller can act on ("events.3.timestamp"). */
export function zodIssues(error: z.ZodError, prefix: (string | number)[] = []): ErrorIssue[] {
  return error.issues.map((i) => ({
    field: [...prefix, ...i.path].map(String).join('.') || '(body)',
    message: i.message,
  }));
}

export function describeIssues(issues: ErrorIssue[]): string {
  return issues.map((i) => `${i.field}: ${i.message}`).join('; ');
}

/** Thrown by our code for a caller's mistake found after validation (e.g. unknown model version). */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
