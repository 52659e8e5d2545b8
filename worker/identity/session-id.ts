/**
 * Session ids the worker issues (cookie `p13n_sid`): `<nonce>.<holder>.<mac>`, all base64url.
 *   nonce   16 random bytes
 *   holder  who the session was issued to: `a` (anonymous) or 8 bytes of HMAC("sid-u:" + user id)
 *   mac     16 bytes of HMAC("sid:" + nonce + "." + holder)
 * The MAC key is PSEUDONYM_KEY under its own labels ("sid:", "sid-u:"; pseudonyms use "s:"/"u:"),
 * so no further secret is needed and a stored pseudonym can never serve as a signature.
 * A public caller may only use a session that verifies, and only as the shopper it was issued to:
 * a planted or guessed id, or one issued to someone else, is never taken as is.
 */
import { base64url, hmac, pseudonymKey } from './pseudonym';

type KeyEnv = { PSEUDONYM_KEY?: string };

const SHAPE = /^([A-Za-z0-9_-]{22})\.(a|[A-Za-z0-9_-]{11})\.([A-Za-z0-9_-]{22})$/;

async function holderOf(env: KeyEnv, userId: string | null): Promise<string> {
  return userId === null ? 'a' : base64url((await hmac(pseudonymKey(env), `sid-u:${userId}`)).subarray(0, 8));
}

async function macOf(env: KeyEnv, nonce: string, holder: string): Promise<string> {
  return base64url((await hmac(pseudonymKey(env), `sid:${nonce}.${holder}`)).subarray(0, 16));
}

/** A new session id for this shopper (null: anonymous). */
export async function issueSessionId(env: KeyEnv, userId: string | null): Promise<string> {
  const nonce = base64url(crypto.getRandomValues(new Uint8Array(16)));
  const holder = await holderOf(env, userId);
  return `${nonce}.${holder}.${await macOf(env, nonce, holder)}`;
}

/**
 * `issued`: the worker made this id (its MAC verifies). `yours`: and it was issued to `userId`
 * (null: anonymous). `anonymous`: it was issued to an anonymous shopper (the login case).
 */
export interface SessionCheck {
  issued: boolean;
  yours: boolean;
  anonymous: boolean;
}

export async function checkSessionId(env: KeyEnv, value: string | null | undefined, userId: string | null): Promise<SessionCheck> {
  const m = value ? SHAPE.exec(value) : null;
  if (!m) return { issued: false, yours: false, anonymous: false };
  const [, nonce, holder, mac] = m as unknown as [string, string, string, string];
  const expected = new TextEncoder().encode(await macOf(env, nonce, holder));
  const given = new TextEncoder().encode(mac);
  if (!crypto.subtle.timingSafeEqual(expected, given)) return { issued: false, yours: false, anonymous: false };
  return { issued: true, yours: holder === (await holderOf(env, userId)), anonymous: holder === 'a' };
}
