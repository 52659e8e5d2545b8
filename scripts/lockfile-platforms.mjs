#!/usr/bin/env node
/**
 * The npm registry mirror our machines use lacks some platform-specific optional packages
 * (e.g. @cloudflare/workerd-darwin-64 for recent workerd releases). npm then leaves them out
 * of package-lock.json and `npm ci` refuses the lockfile as out of sync. This adds the missing
 * entries (version, os, cpu, optional) next to the package that wants them, exactly where npm
 * would have put them, so `npm ci` works here and still installs the right binary elsewhere.
 * Run after any `npm install` that rewrites the lockfile: `node scripts/lockfile-platforms.mjs`.
 */
import { readFileSync, writeFileSync } from 'node:fs';

const PLATFORM = {
  'workerd-darwin-64': { os: ['darwin'], cpu: ['x64'] },
  'workerd-darwin-arm64': { os: ['darwin'], cpu: ['arm64'] },
  'workerd-linux-64': { os: ['linux'], cpu: ['x64'] },
  'workerd-linux-arm64': { os: ['linux'], cpu: ['arm64'] },
  'workerd-windows-64': { os: ['win32'], cpu: ['x64'] },
};

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
const pkgs = lock.packages;
let added = 0;
for (const [path, meta] of Object.entries(pkgs)) {
  if (!path.endsWith('node_modules/workerd')) continue;
  const parent = path.slice(0, -'workerd'.length); // ".../node_modules/"
  for (const [dep, version] of Object.entries(meta.optionalDependencies ?? {})) {
    const short = dep.split('/')[1];
    // npm resolves from the nearest node_modules upwards; an entry there with the right version counts.
    let dir = parent;
    let found = false;
    for (;;) {
      const hit = pkgs[`${dir}${dep}`];
      if (hit) {
        found = hit.version === version;
        break;
      }
      const up = dir.lastIndexOf('node_modules/', dir.length - 'node_modules/'.length - 1);
      if (up < 0) break;
      dir = dir.slice(0, up + 'node_modules/'.length);
    }
    if (found) continue;
    pkgs[`${parent}${dep}`] = { version, dev: true, license: 'Apache-2.0', optional: true, ...PLATFORM[short], engines: { node: '>=16' } };
    added += 1;
  }
}
writeFileSync('package-lock.json', `${JSON.stringify(lock, null, 2)}\n`);
console.log(`lockfile: added ${added} missing platform entries`);
