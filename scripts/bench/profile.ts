/**
 * npm run bench:profile — where the worker's CPU goes per request: the bench's request mix (or
 * /health) at low concurrency with a sampling CPU profile taken inside workerd. Prints self and
 * inclusive µs per request by function and writes the raw profile (.cpuprofile, opens in
 * Chrome DevTools) under .tmp/. Not a test: no thresholds.
 *
 *   npm run bench:profile [-- --items 50000 --requests 2000 --connections 1 --route recommendations|health --reuse]
 *   npm run bench:profile -- --path '/v1/recommendations?slot=home&session_id={session}'   one kind of request
 *     ({session}: the bench's sessions with history, round robin)
 *   npm run bench:profile -- --kind new-session   one kind of the bench's mix (scripts/bench/setup.ts MIX_KINDS)
 */
import autocannon from 'autocannon';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { localServerKeyHeader, ROOT } from '../lib/wrangler';
import { profileDuring } from './cpu-profile';
import { MIX_KINDS, openBench, recommendationMix, type MixKind } from './setup';

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '50000' },
    requests: { type: 'string', default: '2000' },
    connections: { type: 'string', default: '1' },
    route: { type: 'string', default: 'recommendations' },
    path: { type: 'string' },
    kind: { type: 'string' },
    port: { type: 'string', default: '8796' },
    'inspector-port': { type: 'string', default: '9331' },
    reuse: { type: 'boolean', default: false },
  },
});

const bench = await openBench({ items: Number(values.items), port: Number(values.port), reuse: values.reuse, inspectorPort: Number(values['inspector-port']) });
try {
  const kind = values.kind as MixKind | undefined;
  if (kind && !(kind in MIX_KINDS)) throw new Error(`--kind: one of ${Object.keys(MIX_KINDS).join(', ')}`);
  const mix = recommendationMix(bench, kind);
  let n = 0;
  const fixed = values.path;
  const path = fixed ? () => fixed.replace('{session}', bench.sessions[n++ % bench.sessions.length]!) : values.route === 'health' && !kind ? () => '/health' : mix;
  const load = (amount: number) =>
    autocannon({
      url: bench.server.url,
      connections: Number(values.connections),
      amount,
      headers: localServerKeyHeader(), // the mix names its own session ids (server key)
      requests: [{ method: 'GET', setupRequest: (req: any) => ({ ...req, path: path() }) }],
    });
  await load(300); // warm-up: JIT, caches, sessions
  const out = resolve(ROOT, `.tmp/${values.route}.cpuprofile`);
  // The bundle wrangler is running (names anonymous functions in the summary).
  const tmp = resolve(ROOT, '.wrangler/tmp');
  const bundle = readdirSync(tmp)
    .map((d) => resolve(tmp, d, 'index.js'))
    .filter((f) => existsSync(f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  const summary = await profileDuring(
    Number(values['inspector-port']),
    async () => {
      const r = await load(Number(values.requests));
      if (r.non2xx || r.errors) console.log(`warning: ${r.non2xx} non-2xx, ${r.errors} errors`);
      return r.requests.total;
    },
    out,
    bundle,
  );
  console.log(`\nGET ${fixed ?? (kind ? `/v1/recommendations (${kind})` : values.route === 'health' ? '/health' : '/v1/recommendations (bench mix)')} x ${values.requests}, ${values.connections} connection(s)\n${summary}\nraw profile: ${out}`);
} finally {
  await bench.server.stop();
}
