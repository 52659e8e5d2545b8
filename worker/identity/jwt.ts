/**
 * Standard shopper tokens: JSON Web Tokens (RFC 7519) that storefronts and identity providers
 * already issue, verified with Hono's JWT helpers (hono/utils/jwt).
 *
 *   - HS256, signed with IDENTITY_SECRET (or IDENTITY_SECRET_PREVIOUS during a rotation);
 *   - RS256 / ES256, signed by a key published at IDENTITY_JWKS_URL (the `kid` header picks it).
 *     The key set is cached per isolate for JWKS_TTL_MS and refreshed in the background; a token
 *     naming an unknown `kid` refetches it at most once per JWKS_REFETCH_MS (key rotation).
 *
 * Claims: `sub` (the shop's user id, ≤ 128 characters) and `exp` are required; `nbf` and `iat`
 * are checked when present; `iss` must equal IDENTITY_ISSUER and `aud` contain IDENTITY_AUDIENCE
 * when those are set. Any other algorithm (`none`, HS384 …), a bad signature or claim, or a JWKS
 * that cannot be read means "not verified" (anonymous). Never throws.
 */
import { Jwt } from 'hono/utils/jwt';
import { TtlCache } from '../lib/ttl-cache';
import { log } from '../ops/log';

export interface JwtEnv {
  IDENTITY_SECRET?: string;
  IDENTITY_SECRET_PREVIOUS?: string;
  /** Where the identity provider publishes its public keys (RS256 / ES256); empty: asymmetric tokens are refused. */
  IDENTITY_JWKS_URL?: string;
  /** Required `iss` claim, when set. */
  IDENTITY_ISSUER?: string;
  /** Required `aud` claim (one of the token's audiences), when set. */
  IDENTITY_AUDIENCE?: string;
}

type HonoJsonWebKey = JsonWebKey & { kid?: string };

const ASYMMETRIC = ['RS256', 'ES256'] as const;
export const JWKS_TTL_MS = 10 * 60_000;
const JWKS_REFETCH_MS = 60_000;
const JWKS_TIMEOUT_MS = 3_000;
const MAX_SUB = 128;

const jwksCache = new TtlCache<HonoJsonWebKey[]>(JWKS_TTL_MS);
const lastForcedFetch = new Map<string, number>();

async function fetchJwks(url: string): Promise<HonoJsonWebKey[]> {
  const res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(JWKS_TIMEOUT_MS) });
  if (!res.ok) throw new Error(`JWKS answered ${res.status}`);
  const body = (await res.json()) as { keys?: unknown };
  if (!Array.isArray(body.keys)) throw new Error('JWKS has no "keys" array');
  return body.keys.filter((k): k is HonoJsonWebKey => typeof k === 'object' && k !== null);
}

async function jwksKeys(url: string, kid: string): Promise<HonoJsonWebKey[]> {
  const keys = await jwksCache.get(url, () => fetchJwks(url));
  if (keys.some((k) => k.kid === kid)) return keys;
  // An unknown kid: the provider may have rotated its keys. Refetch, but not on every forged token.
  const now = Date.now();
  if (now - (lastForcedFetch.get(url) ?? 0) < JWKS_REFETCH_MS) return keys;
  lastForcedFetch.set(url, now);
  jwksCache.delete(url);
  return jwksCache.get(url, () => fetchJwks(url));
}

function claimsCheck(env: JwtEnv) {
  return { iss: env.IDENTITY_ISSUER || undefined, aud: env.IDENTITY_AUDIENCE || undefined };
}

async function verifyHs256(env: JwtEnv, token: string): Promise<Record<string, unknown> | null> {
  for (const secret of [env.IDENTITY_SECRET, env.IDENTITY_SECRET_PREVIOUS]) {
    if (!secret) continue;
    try {
      return await Jwt.verify(token, secret, { alg: 'HS256', ...claimsCheck(env) });
    } catch (e) {
      // Only a signature mismatch may mean "the other key"; an expired or wrong-audience token is final.
      if ((e as Error).name !== 'JwtTokenSignatureMismatched') return null;
    }
  }
  return null;
}

/**
 * The claims of an RS256 / ES256 token signed by a key of the JWKS at `url`, checked against
 * `verification` (iss, aud), or null. Shopper tokens and the console's Cloudflare Access
 * assertions (worker/console/auth.ts) are both verified here. Never throws.
 */
export async function verifyWithJwksUrl(url: string, token: string, verification: { iss?: string; aud?: string }): Promise<Record<string, unknown> | null> {
  let kid: string | undefined;
  try {
    if (!isJwtShaped(token)) return null;
    kid = Jwt.decode(token).header.kid;
  } catch {
    return null;
  }
  if (!kid) return null;
  let keys: HonoJsonWebKey[];
  try {
    keys = await jwksKeys(url, kid);
  } catch (e) {
    log('warn', 'jwks_unavailable', { error: (e as Error).message });
    return null;
  }
  try {
    return await Jwt.verifyWithJwks(token, { keys, allowedAlgorithms: ASYMMETRIC, verification });
  } catch {
    return null;
  }
}

async function verifyJwks(env: JwtEnv, token: string): Promise<Record<string, unknown> | null> {
  return env.IDENTITY_JWKS_URL ? verifyWithJwksUrl(env.IDENTITY_JWKS_URL, token, claimsCheck(env)) : null;
}

/** Whether a token has the JWT shape (three base64url parts). */
export function isJwtShaped(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);
}

/** The shopper named by a valid JWT, or null. Never throws. */
export async function verifyJwt(env: JwtEnv, token: string): Promise<string | null> {
  try {
    if (!isJwtShaped(token)) return null;
    const { header } = Jwt.decode(token);
    const claims =
      header.alg === 'HS256' ? await verifyHs256(env, token) : (ASYMMETRIC as readonly string[]).includes(header.alg) ? await verifyJwks(env, token) : null;
    if (!claims) return null;
    // Hono checks exp only when present; a shopper token without an expiry is refused.
    if (typeof claims.exp !== 'number') return null;
    const sub = typeof claims.sub === 'string' ? claims.sub.trim() : '';
    return sub && sub.length <= MAX_SUB ? sub : null;
  } catch {
    return null;
  }
}
