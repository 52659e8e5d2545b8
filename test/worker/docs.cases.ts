/** The API reference page (/docs) and the document it renders (/openapi.json). */
import { describe, expect, it } from 'vitest';
import { fetchWorker } from './helpers';

const sha256 = async (s: string) => btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(s)))));

describe('GET /docs', () => {
  it('renders the API reference from /openapi.json under its own CSP', async () => {
    const res = await fetchWorker('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('"url": "/openapi.json"');
    const csp = res.headers.get('content-security-policy')!;
    const script = csp.split('; ').find((d) => d.startsWith('script-src '))!;
    // Scalar's script from its pinned CDN URL, and only the page's own inline script (by hash).
    const src = html.match(/<script src="([^"]+)"/)![1]!;
    expect(script).toContain(new URL(src).origin);
    expect(script).not.toContain('unsafe-inline');
    const inline = html.match(/<script type="text\/javascript">([\s\S]*?)<\/script>/)![1]!;
    expect(script).toContain(`'sha256-${await sha256(inline)}'`);
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

describe('/openapi.json', () => {
  it('documents every route with a summary and an example', async () => {
    const doc = await (await fetchWorker('/openapi.json')).json<any>();
    const resolve = (x: any): any => (x?.$ref ? doc.components.schemas[x.$ref.split('/').pop()] : x);
    // An example anywhere in the operation: a parameter, the request body, a response, or a schema they use.
    const hasExample = (x: any, seen = new Set<any>()): boolean => {
      x = resolve(x);
      if (!x || typeof x !== 'object' || seen.has(x)) return false;
      seen.add(x);
      if ('example' in x || 'examples' in x) return true;
      return Object.values(x).some((v) => hasExample(v, seen));
    };
    const missing: string[] = [];
    for (const [path, ops] of Object.entries<any>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(ops)) {
        if (!op.summary) missing.push(`${method} ${path}: summary`);
        if (!hasExample({ p: op.parameters, b: op.requestBody, r: op.responses })) missing.push(`${method} ${path}: example`);
      }
    }
    expect(missing).toEqual([]);
    for (const p of ['/v1/rerank', '/v1/items/{item_id}/similar', '/v1/trending', '/v1/recommendations/batch']) expect(doc.paths[p]).toBeDefined();
  });
});
