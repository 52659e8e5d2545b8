/**
 * Shared by the Chromium tests: where Chromium is, and where screenshots go. `npm test` keeps
 * them in .tmp/screenshots; `npm run docs:screenshots` writes the ones the README shows into docs/.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { ROOT } from '../../scripts/lib/wrangler';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS = resolve(ROOT, process.env.P13N_SCREENSHOTS ?? '.tmp/screenshots');
mkdirSync(SCREENSHOTS, { recursive: true });

let failures = 0;

/** One named check: its failure is printed and counted, and the run goes on to the next one. */
export async function check(name: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
    console.log(`  ✓ ${name}`);
  } catch (e) {
    failures++;
    console.log(`  ✗ ${name}\n    ${(e as Error).stack?.split('\n').slice(0, 6).join('\n    ')}`);
  }
}

/** End the run: exit 1 when any check failed. */
export function finish(what: string): void {
  if (failures) {
    console.log(`\n${failures} check(s) failed`);
    process.exit(1);
  }
  console.log(`\nall ${what} checks passed`);
}
