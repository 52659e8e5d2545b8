/** Benchmarks (and the soak run) write their figures into a marked section of a doc, docs/benchmarks.md by default. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ROOT } from './wrangler';

const BENCHMARKS = { file: 'docs/benchmarks.md', intro: '# Benchmarks\n\nFigures written by the scripts under `scripts/bench/`; rerun them to refresh.\n' };

/** Replace (or append) the section between `<!-- bench:NAME:begin/end -->` markers; `intro` starts a new file. */
export function writeSection(name: string, markdown: string, target: { file: string; intro: string } = BENCHMARKS): void {
  const file = resolve(ROOT, target.file);
  const begin = `<!-- bench:${name}:begin -->`;
  const end = `<!-- bench:${name}:end -->`;
  let doc = existsSync(file) ? readFileSync(file, 'utf8') : target.intro;
  const block = `${begin}\n${markdown.trim()}\n${end}`;
  const i = doc.indexOf(begin);
  const j = doc.indexOf(end);
  doc = i >= 0 && j > i ? doc.slice(0, i) + block + doc.slice(j + end.length) : `${doc.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, doc);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function machine(): string {
  return `${process.platform}/${process.arch}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
}
