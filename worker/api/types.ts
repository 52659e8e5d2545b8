import { OpenAPIHono } from '@hono/zod-openapi';
import { describeIssues, errorBody, zodIssues } from '../lib/errors';
import type { Timing } from '../lib/timing';

export type AppEnv = { Bindings: Env; Variables: { timing: Timing } };

/** A router whose zod validation failures answer 400 with the fields that were wrong. */
export function router() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const issues = zodIssues(result.error);
        return c.json(errorBody('invalid_request', describeIssues(issues), issues), 400);
      }
    },
  });
}
