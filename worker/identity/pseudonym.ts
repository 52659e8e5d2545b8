/**
 * Keyed pseudonymisation: shopper and session ids are stored only as
 * HMAC-SHA256(PSEUDONYM_KEY, id), so D1, Durable Objects and logs never hold a raw identifier.
 */
import { Lru } from '../lib/lru';

const DEV_KEY = 'dev-only-pseudonym-key';
const keys = new Map<string, Promise<CryptoKey>>();
const encoder = new TextEncoder();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    keys.set(secret, key);
  }
  return key;
}

export function base64url(bytes: ArrayBuffer | Uint8Array): string {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let s = '';
  for (const b of u8) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export async function hmac(secret: string, message: string): Promise<Uint8Array> {
  const sig = await crypto.subtle.sign('HMAC', await hmacKey(secret), encoder.encode(message));
  return new Uint8Array(sig);
}

/** The keyed-hash secret (a fixed development key when PSEUDONYM_KEY is unset: local runs only). */
export function pseudonymKey(env: { PSEUDONYM_KEY?: string }): string {
  return env.PSEUDONYM_KEY || DEV_KEY;
}

/**
 * Recent pseudonyms per isolate (memory only, never stored): a session sends many batches, and a
 * backend's batch of 100 events names up to 100 sessions, each an HMAC otherwise (about a fifth of
 * a batch's CPU in the bench's profile). Bounded (least recently used out).
 */
const recent = new Lru<string, string>(20_000);
let recentSecret = '';

/** `kind` separates namespaces, so a user id and a session id with the same text never collide. */
export async function pseudonymize(env: { PSEUDONYM_KEY?: string }, kind: 'u' | 's', id: string): Promise<string> {
  const secret = pseudonymKey(env);
  const k = `${kind}:${id}`;
  if (secret !== recentSecret) {
    recent.clear();
    recentSecret = secret;
  }
  // Strings, not promises: a promise begun by one request must not be awaited by another.
  const known = recent.get(k);
  if (known) return known;
  const key = `${kind}_${base64url((await hmac(secret, k)).subarray(0, 16))}`;
  recent.set(k, key);
  return key;
}
