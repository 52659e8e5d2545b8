/** Reading the pipeline's CSV/NDJSON input files in ops scripts. */
import { parse } from 'csv-parse/sync';
import { readFileSync } from 'node:fs';

export function readRows(file: string): Record<string, string>[] {
  const text = readFileSync(file, 'utf8');
  if (file.endsWith('.ndjson') || file.endsWith('.jsonl')) {
    return text
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as Record<string, string>);
  }
  return parse(text, { columns: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
}
