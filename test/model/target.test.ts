/** `--env staging|production` of the data CLIs: each environment's own bindings from wrangler.toml, and a dry run that writes nothing. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeArtifact } from '../../model/artifact';
import { buildDataset } from '../../model/dataset';
import { generateDemo } from '../../model/demo-data';
import { trainModel } from '../../model/pipeline';
import { parseEnvironment, resolveTarget } from '../../model/target';

const ROOT = resolve(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'p13n-target-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('resolveTarget', () => {
  it("reads each environment's database, buckets and route from the config, not from the top-level names", async () => {
    const config = join(work, 'wrangler.toml');
    writeFileSync(
      config,
      `name = "w"\nmain = "x.ts"\n[[d1_databases]]\nbinding = "DB"\ndatabase_name = "dev-db"\ndatabase_id = "1"\n[[r2_buckets]]\nbinding = "MODELS"\nbucket_name = "dev-models"\n[[r2_buckets]]\nbinding = "EXPORTS"\nbucket_name = "dev-log"\n` +
        `[env.staging]\nroutes = [{ pattern = "stg.shop.test/*", zone_name = "shop.test" }]\n[[env.staging.d1_databases]]\nbinding = "DB"\ndatabase_name = "acme-stg"\ndatabase_id = "2"\n[[env.staging.r2_buckets]]\nbinding = "EXPORTS"\nbucket_name = "acme-log-stg"\n[[env.staging.r2_buckets]]\nbinding = "MODELS"\nbucket_name = "acme-models-stg"\n` +
        `[env.production]\n[[env.production.d1_databases]]\nbinding = "DB"\ndatabase_name = "acme-prod"\ndatabase_id = "3"\n[[env.production.r2_buckets]]\nbinding = "MODELS"\nbucket_name = "acme-models-prod"\n`,
    );
    expect(await resolveTarget(undefined, config)).toEqual({ where: 'local', database: 'dev-db', models: 'dev-models', exports: 'dev-log', url: 'http://127.0.0.1:8787' });
    expect(await resolveTarget('staging', config)).toEqual({ env: 'staging', where: 'remote', database: 'acme-stg', models: 'acme-models-stg', exports: 'acme-log-stg', url: 'https://stg.shop.test' });
    // environments inherit no bindings: a missing one is an error, not the top-level bucket
    await expect(resolveTarget('production', config)).rejects.toThrow('no R2 bucket bound as EXPORTS in [env.production]');
    expect(() => parseEnvironment('prod')).toThrow('--env must be one of staging, production');
  });
});

describe('npm run model:publish', () => {
  const cli = (args: string[]) => spawnSync(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'model/cli/publish.ts'), ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ADMIN_TOKEN: '' } });
  let modelDir: string;
  beforeAll(() => {
    const d = generateDemo({ items: 120, users: 150, seed: 3 });
    modelDir = join(work, 'model');
    writeArtifact(modelDir, trainModel(buildDataset(d.events, d.items), { seed: 1, tune: false }).exported);
  });

  it('--help documents --env and the canary default', () => {
    const r = cli(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('--env staging|production');
    expect(r.stdout).toContain('--activate');
  });

  it("a dry run against staging names that environment's bucket and database, plans a canary and writes nothing", () => {
    const r = cli([modelDir, '--env', 'staging', '--dry-run']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('target staging: D1 database p13n-staging, R2 buckets p13n-models-staging (models)');
    const puts = r.stdout.split('\n').filter((l) => l.startsWith('$ npx wrangler r2 object put'));
    expect(puts.length).toBeGreaterThan(0);
    for (const l of puts) expect(l).toMatch(/^\$ npx wrangler r2 object put p13n-models-staging\/models\/\S+ .*--remote --env staging$/);
    expect(r.stdout).toMatch(/\$ npx wrangler d1 execute p13n-staging --remote --env staging --command "INSERT INTO models /);
    // a canary by default: registered, not activated
    expect(r.stdout).not.toContain("SET status = 'active'");
    expect(r.stdout).toContain('start its canary: POST https://staging.shop.example.com/v1/admin/models/');
  });

  it('refuses --remote without an environment instead of writing to the local names remotely', () => {
    const r = cli([modelDir, '--remote', '--dry-run']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--env staging|production');
  });
});
