/** Request body size limits, answered with a 413 JSON error before the body is parsed. */
import { bodyLimit } from 'hono/body-limit';
import { errorBody } from '../lib/errors';

export const KIB = 1024;

export function maxBody(bytes: number) {
  return bodyLimit({
    maxSize: bytes,
    onError: (c) => c.json(errorBody('payload_too_large', `the request body is larger than ${Math.round(bytes / KIB)} KiB`), 413),
  });
}
