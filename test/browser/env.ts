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
