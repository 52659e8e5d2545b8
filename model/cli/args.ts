/** Tiny argument parser: `--name value`, `--flag`, positional arguments. */
export interface Args {
  positional: string[];
  opts: Map<string, string | true>;
  str(name: string, fallback?: string): string | undefined;
  need(name: string): string;
  num(name: string, fallback: number): number;
  flag(name: string): boolean;
}

export function parseArgs(argv: string[], flags: string[] = []): Args {
  const positional: string[] = [];
  const opts = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') continue;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) opts.set(a.slice(2, eq), a.slice(eq + 1));
      else if (flags.includes(a.slice(2)) || i + 1 >= argv.length || argv[i + 1]!.startsWith('--')) opts.set(a.slice(2), true);
      else opts.set(a.slice(2), argv[++i]!);
    } else positional.push(a);
  }
  const args: Args = {
    positional,
    opts,
    str: (n, f) => {
      const v = opts.get(n);
      return typeof v === 'string' ? v : f;
    },
    need: (n) => {
      const v = opts.get(n);
      if (typeof v !== 'string') fail(`missing --${n}`);
      return v as string;
    },
    num: (n, f) => {
      const v = opts.get(n);
      if (v === undefined) return f;
      const x = Number(v);
      if (typeof v !== 'string' || !Number.isFinite(x)) fail(`--${n} must be a number`);
      return x;
    },
    flag: (n) => opts.get(n) === true || opts.get(n) === 'true',
  };
  return args;
}

export function fail(msg: string): never {
  process.stderr.write(`error: ${msg}\n`);
  process.exit(2);
}

/** Runs a CLI main, printing DataError and other errors without a stack trace. */
export function run(main: () => Promise<void> | void): void {
  Promise.resolve()
    .then(main)
    .catch((e: unknown) => {
      const err = e as Error;
      process.stderr.write(`error: ${err.name === 'DataError' || err.name === 'Error' ? err.message : (err.stack ?? String(e))}\n`);
      process.exit(1);
    });
}
