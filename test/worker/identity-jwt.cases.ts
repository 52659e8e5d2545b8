/**
 * Standard JWTs name a shopper (worker/identity/jwt.ts): HS256 with IDENTITY_SECRET, RS256 / ES256
 * from the identity provider's JWKS, read from Authorization: Bearer, X-P13n-User-Token and the
 * p13n_uid cookie. Expired, tampered, wrongly addressed or unsigned tokens leave the caller anonymous.
 */
import { env } from 'cloudflare:workers';
import { Jwt } from 'hono/utils/jwt';
import { beforeAll, describe, expect, it } from 'vitest';
import { seedCatalog } from './helpers';
import { call } from './ops-helpers';
import { originPage } from './rewrite-helpers';

const now = () => Math.floor(Date.now() / 1000);
const JWKS_URL = 'http://origin.test/.well-known/jwks.json';

/** A GET /v1/recommendations as a storefront or browser sends it, with extra headers and env. */
let seq = 0;
async function recs(headers: Record<string, string>, overrideEnv?: Record<string, string>) {
  const res = await call(`/v1/recommendations?slot=home&k=5&session_id=jwt-visit-${++seq}`, { headers: { 'x-p13n-consent': 'granted', ...headers } }, overrideEnv);
  return { status: res.status, identity: res.headers.get('x-p13n-identity') };
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

beforeAll(async () => {
  await seedCatalog();
});

describe('HS256 JWTs signed with IDENTITY_SECRET', () => {
  it('name the shopper, from Authorization: Bearer, X-P13n-User-Token and the p13n_uid cookie; bad ones do not', async () => {
    const jwt = await Jwt.sign({ sub: 'jwt-shopper', exp: now() + 600 }, env.IDENTITY_SECRET, 'HS256');
    for (const headers of [bearer(jwt), { 'x-p13n-user-token': jwt }, { cookie: `p13n_uid=${jwt}` }] as Record<string, string>[]) {
      const r = await recs(headers);
      expect(r.status).toBe(200);
      expect(r.identity).toBe('user');
    }
    expect((await recs({})).identity).toBe('anonymous');
    // An expired, not-yet-valid, tampered, unsigned, wrong-key or never-expiring token is not.
    const exp = now() + 600;
    const expired = await Jwt.sign({ sub: 'jwt-shopper', exp: now() - 5 }, env.IDENTITY_SECRET, 'HS256');
    const early = await Jwt.sign({ sub: 'jwt-shopper', exp, nbf: now() + 300 }, env.IDENTITY_SECRET, 'HS256');
    const good = await Jwt.sign({ sub: 'someone', exp }, env.IDENTITY_SECRET, 'HS256');
    const [h, , s] = good.split('.');
    const tampered = `${h}.${btoa(JSON.stringify({ sub: 'jwt-shopper', exp })).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')}.${s}`;
    const unsigned = `${btoa('{"alg":"none","typ":"JWT"}').replace(/=+$/, '')}.${tampered.split('.')[1]}.`;
    const otherKey = await Jwt.sign({ sub: 'jwt-shopper', exp }, 'not-the-identity-secret', 'HS256');
    const noExpiry = await Jwt.sign({ sub: 'jwt-shopper' }, env.IDENTITY_SECRET, 'HS256');
    for (const t of [expired, early, tampered, unsigned, otherKey, noExpiry]) expect((await recs(bearer(t))).identity, t).toBe('unverified');
  });

  it('IDENTITY_SECRET_PREVIOUS verifies during a rotation; iss and aud are checked when configured', async () => {
    const exp = now() + 600;
    const old = await Jwt.sign({ sub: 'jwt-rotated', exp }, 'the-previous-identity-secret', 'HS256');
    expect((await recs(bearer(old), { IDENTITY_SECRET_PREVIOUS: 'the-previous-identity-secret' })).identity).toBe('user');
    const claims = { IDENTITY_ISSUER: 'https://id.shop.test', IDENTITY_AUDIENCE: 'p13n' };
    const right = await Jwt.sign({ sub: 'jwt-aud', exp, iss: 'https://id.shop.test', aud: ['p13n', 'shop'] }, env.IDENTITY_SECRET, 'HS256');
    const wrongAud = await Jwt.sign({ sub: 'jwt-aud', exp, iss: 'https://id.shop.test', aud: 'another-api' }, env.IDENTITY_SECRET, 'HS256');
    const noIss = await Jwt.sign({ sub: 'jwt-aud', exp, aud: 'p13n' }, env.IDENTITY_SECRET, 'HS256');
    expect((await recs(bearer(right), claims)).identity).toBe('user');
    expect((await recs(bearer(wrongAud), claims)).identity).toBe('unverified');
    expect((await recs(bearer(noIss), claims)).identity).toBe('unverified');
  });
});

describe('RS256 / ES256 JWTs from the identity provider’s JWKS', () => {
  it('are verified with the key the kid names, fetched from IDENTITY_JWKS_URL', async () => {
    const rsa = (await crypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    const ec = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    const jwk = async (k: CryptoKey, kid: string, alg: string) => ({ ...((await crypto.subtle.exportKey('jwk', k)) as JsonWebKey), kid, alg });
    const keys = [await jwk(rsa.publicKey, 'rsa-1', 'RS256'), await jwk(ec.publicKey, 'ec-1', 'ES256')];
    await originPage('/.well-known/jwks.json', { headers: [['content-type', 'application/json']], chunks: [JSON.stringify({ keys })] });
    const cfg = { IDENTITY_JWKS_URL: JWKS_URL, IDENTITY_ISSUER: 'https://id.shop.test' };
    const claims = { sub: 'jwks-shopper', exp: now() + 600, iss: 'https://id.shop.test' };
    const rs = await Jwt.sign(claims, await jwk(rsa.privateKey, 'rsa-1', 'RS256'));
    const es = await Jwt.sign(claims, await jwk(ec.privateKey, 'ec-1', 'ES256'));
    expect((await recs(bearer(rs), cfg)).identity).toBe('user');
    expect((await recs({ 'x-p13n-user-token': es }, cfg)).identity).toBe('user');
    // A key the JWKS does not publish, and an RS256 token without a JWKS configured, are refused.
    const stranger = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    const forged = await Jwt.sign(claims, await jwk(stranger.privateKey, 'ec-1', 'ES256'));
    expect((await recs(bearer(forged), cfg)).identity).toBe('unverified');
    expect((await recs(bearer(rs))).identity).toBe('unverified');
  });
});
