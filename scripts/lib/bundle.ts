/** Building the Worker the way `wrangler deploy` does, and measuring what would be uploaded. */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ROOT } from './wrangler';

const BIN = resolve(ROOT, 'node_modules/.bin/wrangler');
export const BUDGET_FILE = resolve(ROOT, 'bundle-budget.json');

export interface Budget {
  /** fail when the gzip size of the upload exceeds this many bytes */
  gzip_bytes: number;
  note?: string;
}

export interface BundleFile {
  name: string;
  bytes: number;
  gzip: number;
}

export interface BundleSize {
  dir: string;
  files: BundleFile[];
  bytes: number;
  gzip: number;
  /** wrangler's own "Total Upload: … / gzip: …" line, for comparison */
  wranglerSummary: string | null;
}

/** `wrangler deploy --dry-run --outdir <dir>`: bundles exactly what a deploy would upload, offline. */
export function build(opts: { env?: string; outdir: string }): { summary: string | null; output: string } {
  rmSync(opts.outdir, { recursive: true, force: true });
  const args = ['deploy', '--dry-run', '--outdir', opts.outdir, ...(opts.env ? ['--env', opts.env] : [])];
  const r = spawnSync(BIN, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true', NO_COLOR: '1', FORCE_COLOR: '0' } });
  const output = `${r.stdout}\n${r.stderr}`;
  if (r.status !== 0) throw new Error(`wrangler ${args.join(' ')} failed:\n${output}`);
  const summary = /Total Upload:[^\n]*/.exec(output)?.[0]?.trim() ?? null;
  return { summary, output };
}

/** Gzip size of every module in the output directory (source maps and the README excluded: not uploaded). */
export function measure(dir: string, wranglerSummary: string | null = null): BundleSize {
  const files: BundleFile[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (!name.endsWith('.map') && name !== 'README.md') {
        const buf = readFileSync(p);
        files.push({ name: relative(dir, p), bytes: buf.byteLength, gzip: gzipSync(buf, { level: 9 }).byteLength });
      }
    }
  };
  if (!existsSync(dir)) throw new Error(`no build output in ${dir}`);
  walk(dir);
  files.sort((a, b) => b.gzip - a.gzip);
  const own = files.reduce((a, f) => a + f.gzip, 0);
  // Prefer wrangler's own figure (what the upload limit is checked against); it is slightly
  // larger than gzip -9 of the files. Take the larger of the two.
  const kib = /gzip:\s*([\d.]+)\s*KiB/.exec(wranglerSummary ?? '')?.[1];
  const gzip = Math.max(own, kib ? Math.round(Number(kib) * 1024) : 0);
  return { dir, files, bytes: files.reduce((a, f) => a + f.bytes, 0), gzip, wranglerSummary };
}

export function readBudget(): Budget {
  return JSON.parse(readFileSync(BUDGET_FILE, 'utf8')) as Budget;
}

export const mib = (n: number) => `${(n / 1024 / 1024).toFixed(2)} MiB`;

export function report(size: BundleSize, budget?: Budget): string {
  const lines = [
    `Worker bundle (${relative(ROOT, size.dir) || size.dir}):`,
    ...size.files.map((f) => `  ${f.name.padEnd(72)} ${mib(f.bytes).padStart(10)}  gzip ${mib(f.gzip).padStart(10)}`),
    `  total: ${mib(size.bytes)}, gzip ${mib(size.gzip)} (${size.gzip} bytes; the larger of gzip -9 of the files and wrangler's figure)`,
  ];
  if (size.wranglerSummary) lines.push(`  wrangler: ${size.wranglerSummary}`);
  if (budget) {
    const pct = ((size.gzip / budget.gzip_bytes) * 100).toFixed(1);
    lines.push(`  budget: ${mib(budget.gzip_bytes)} gzip (${budget.gzip_bytes} bytes) — ${pct}% used`);
  }
  return lines.join('\n');
}

/** Rewrite the README line between <!-- bundle-size:begin --> and <!-- bundle-size:end -->. */
export function writeReadmeSize(size: BundleSize, budget: Budget): boolean {
  const file = resolve(ROOT, 'README.md');
  const doc = readFileSync(file, 'utf8');
  const begin = '<!-- bundle-size:begin -->';
  const end = '<!-- bundle-size:end -->';
  const i = doc.indexOf(begin);
  const j = doc.indexOf(end);
  if (i < 0 || j < i) return false;
  const line = `Current bundle: **${mib(size.gzip)} gzip** (${mib(size.bytes)} uncompressed; ${size.gzip} bytes gzip), budget ${mib(budget.gzip_bytes)} gzip in \`bundle-budget.json\`; measured ${new Date().toISOString().slice(0, 10)}.`;
  writeFileSync(file, `${doc.slice(0, i + begin.length)}\n${line}\n${doc.slice(j)}`);
  return true;
}
