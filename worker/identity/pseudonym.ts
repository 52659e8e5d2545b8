/**
 * Keyed pseudonymisation: shopper and session ids are stored only as
 * HMAC-SHA256(PSEUDONYM_KEY, id), so D1, Durable Objects and logs never hold a raw identifier.
 */
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

/** `kind` separates namespaces, so a user id and a session id with the same text never collide. */
export async function pseudonymize(env: { PSEUDONYM_KEY?: string }, kind: 'u' | 's', id: string): Promise<string> {
  const mac = await hmac(pseudonymKey(env), `${kind}:${id}`);
  return `${kind}_${base64url(mac.subarray(0, 16))}`;
}
