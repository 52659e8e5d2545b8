import { describe, expect, it } from 'vitest';
import { fetchWorker } from './helpers';

const adminRoutes: [string, string][] = [
  ['GET', '/v1/admin/models'],
  ['POST', '/v1/admin/catalog'],
  ['DELETE', '/v1/admin/catalog/x'],
  ['POST', '/v1/admin/models/rollback'],
  ['GET', '/v1/admin/health'],
  ['GET', '/v1/admin/stats'],
  ['PUT', '/v1/admin/slots/home'],
];

describe('admin routes refuse a missing or wrong token', () => {
  for (const [method, path] of adminRoutes) {
    it(`${method} ${path}`, async () => {
      for (const authorization of [undefined, 'Bearer wrong-token-0123456789abcdef', 'Basic abc', 'Bearer ']) {
        const res = await fetchWorker(path, { method, headers: authorization ? { authorization } : {}, body: method === 'GET' ? undefined : '[]' });
        expect(res.status).toBe(401);
        expect(((await res.json()) as any).error.code).toBe('unauthorized');
      }
    });
  }

  it('accepts the right token', async () => {
    const res = await fetchWorker('/v1/admin/models', { headers: { authorization: 'Bearer test-admin-token-0123456789abcdef' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ models: [] });
  });
});
