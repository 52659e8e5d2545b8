/**
 * Structured JSON logs. One line per event, `{"level","msg","request_id",...}`, with personal
 * data removed before anything is written: fields that can identify a shopper (ids, tokens,
 * cookies, IPs, e-mail addresses, query strings) are replaced by "[redacted]", and e-mail
 * addresses or bearer tokens inside free text are masked too. Logs are for operators, never a
 * second event log.
 *
 * Every line written while a request (or a cron run, or a queue batch) is handled carries its
 * `request_id`: the entry point runs its work inside `withRequestId`, and `log` reads the id from
 * there (AsyncLocalStorage, compatibility flag `nodejs_als`), so no module passes ids around.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export type Level = 'debug' | 'info' | 'warn' | 'error';

/** Keys whose values are never logged (compared lower-case, with `-` treated as `_`). */
const SENSITIVE_KEYS = new Set([
  'user_id',
  'userid',
  'session_id',
  'sessionid',
  'user_token',
  'token',
  'authorization',
  'cookie',
  'set_cookie',
  'email',
  'e_mail',
  'ip',
  'client_ip',
  'cf_connecting_ip',
  'x_forwarded_for',
  'x_real_ip',
  'user_agent',
  'password',
  'secret',
  'admin_token',
  'pseudonym_key',
  'identity_secret',
  'query',
  'search',
  'phone',
  'address',
  'first_name',
  'last_name',
]);

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
const BEARER = /\b(Bearer)\s+[A-Za-z0-9._~+/=-]+/gi;
const IPV4 = /\b(?:\d{1,3}\.){3}\d{1,3}\b/g;
// Query strings carry shopper ids (?session_id=...&user_id=...): keep the path only.
const URL_QUERY = /(https?:\/\/[^\s?#"]+|\/[^\s?#"]*)\?[^\s#"]*/g;
// Paths carry tokens and ids too (/account/reset/<token>, /orders/123): a full URL keeps its origin only.
const URL_PATH = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/?#"]+)[/?#][^\s"]*/gi;

export const REDACTED = '[redacted]';

function scrubText(s: string): string {
  return s.replace(EMAIL, REDACTED).replace(BEARER, `$1 ${REDACTED}`).replace(URL_PATH, `$1/${REDACTED}`).replace(URL_QUERY, `$1?${REDACTED}`).replace(IPV4, REDACTED);
}

function isSensitive(key: string): boolean {
  return SENSITIVE_KEYS.has(key.toLowerCase().replace(/-/g, '_'));
}

/** A copy of `value` that is safe to log. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > 6) return '[truncated]';
  if (value instanceof Error) return { error: scrubText(value.message) };
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = isSensitive(k) ? REDACTED : redact(v, depth + 1);
  return out;
}

const current = new AsyncLocalStorage<string>();

/** Run `fn` with `id` as the request id of every line it (and whatever it awaits) logs. */
export function withRequestId<T>(id: string, fn: () => T): T {
  return current.run(id, fn);
}

/** The id of the request being handled, if any. */
export function currentRequestId(): string | undefined {
  return current.getStore();
}

/** Writes one JSON line through console (Workers Logs / `wrangler tail` pick it up). */
export function log(level: Level, msg: string, fields: Record<string, unknown> = {}): void {
  const id = current.getStore();
  const line = JSON.stringify({ level, msg, time: new Date().toISOString(), ...(id ? { request_id: id } : {}), ...(redact(fields) as Record<string, unknown>) });
  if (level === 'error') console.error(line);
  else if (level === 'warn') console.warn(line);
  else console.log(line);
}
