/**
 * Shopper tokens never travel in a URL: query strings end up in access logs, analytics and the
 * Referer of every link on a page. A request carrying one (`user_token`, or a `user_id` that is a
 * token) is refused with 400, not silently treated as anonymous, so the integration gets fixed.
 */
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../api/types';
import { isTokenShaped } from '../identity/shopper';
import { errorBody } from '../lib/errors';

const MESSAGE = 'shopper tokens are not accepted in the query string (URLs end up in logs and referrers): send the token as X-P13n-User-Token or Authorization: Bearer';

export const noTokenInQuery = createMiddleware<AppEnv>(async (c, next) => {
  const q = c.req.query();
  if (q.user_token === undefined && !isTokenShaped(q.user_id)) return next();
  const field = q.user_token !== undefined ? 'user_token' : 'user_id';
  return c.json(errorBody('invalid_request', `${field}: ${MESSAGE}`, [{ field, message: MESSAGE }]), 400);
});
