/**
 * Constant-time comparison of a presented credential with the configured secrets: both sides are
 * compared as fixed-length MACs, so neither length nor content leaks through timing. The secrets'
 * MACs are computed once per isolate; a request pays one MAC, of what it presented.
 */
import { hmac } from '../identity/pseudonym';
import { Lru } from '../lib/lru';

const LABEL = 'admin-compare';
/** MAC of each configured secret (Worker secrets: a handful, rotated rarely). */
const secretMacs = new Lru<string, Uint8Array>(16);

async function secretMac(secret: string): Promise<Uint8Array> {
  let mac = secretMacs.get(secret);
  if (!mac) {
    mac = await hmac(LABEL, secret);
    secretMacs.set(secret, mac);
  }
  return mac;
}

/** Whether `given` equals any of `secrets` (every one is compared, whatever the first gave). */
export async function matchesSecret(given: string, secrets: string[]): Promise<boolean> {
  if (!secrets.length) return false;
  const [mac, ...known] = await Promise.all([hmac(LABEL, given), ...secrets.map(secretMac)]);
  let ok = false;
  for (const k of known) ok = crypto.subtle.timingSafeEqual(mac!, k) || ok;
  return ok;
}
