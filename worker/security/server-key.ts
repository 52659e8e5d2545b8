/**
 * Storefront backends call the public API with the server key: header `X-P13n-Server-Key`
 * checked against the Worker secret SERVER_KEY (and SERVER_KEY_NEXT while a new key goes live),
 * in constant time. Separate from ADMIN_TOKEN: the server key only lets a backend name its own
 * session ids and send bulk (multi-session) event batches; it opens no admin route.
 */
import { matchesSecret } from './same-secret';

export const SERVER_KEY_HEADER = 'X-P13n-Server-Key';
/** Shorter keys are ignored (a typo'd or placeholder secret must not be guessable). */
const MIN_KEY = 16;

export interface ServerKeyEnv {
  SERVER_KEY?: string;
  SERVER_KEY_NEXT?: string;
}

export async function isServerCaller(env: ServerKeyEnv, request: Request): Promise<boolean> {
  const given = request.headers.get(SERVER_KEY_HEADER)?.trim();
  if (!given) return false;
  const keys = [env.SERVER_KEY, env.SERVER_KEY_NEXT].map((k) => k?.trim()).filter((k): k is string => !!k && k.length >= MIN_KEY);
  return matchesSecret(given, keys);
}
