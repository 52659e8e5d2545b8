/** Progress bars with ETA on stderr (cli-progress); silent when disabled (tests). */
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, total?: number): void;
  stop(): void;
}

export let progressEnabled = !process.env.VITEST && process.env.P13N_NO_PROGRESS !== '1';

export function setProgress(on: boolean): void {
  progressEnabled = on;
}

export function bar(label: string, total: number): Progress {
  if (!progressEnabled) return { update: () => undefined, stop: () => undefined };
  const b = new cliProgress.SingleBar(
    {
      format: `${label.padEnd(24)} [{bar}] {percentage}% | {value}/{total} | ETA {eta_formatted} | {duration_formatted}`,
      stream: process.stderr,
      noTTYOutput: true,
      notTTYSchedule: 5000,
      etaBuffer: 50,
      hideCursor: false,
    },
    cliProgress.Presets.shades_classic,
  );
  b.start(total, 0);
  // Without a TTY cli-progress redraws only from a timer, which never fires while a synchronous
  // phase (co-occurrence, tuning) holds the event loop: redraw from update() every 5 s instead.
  const tty = process.stderr.isTTY === true;
  let last = Date.now();
  return {
    update: (d, t) => {
      if (t !== undefined && t !== b.getTotal()) b.setTotal(t);
      b.update(d);
      if (!tty && Date.now() - last >= 5000) {
        last = Date.now();
        b.render();
      }
    },
    stop: () => b.stop(),
  };
}

/** One bar per named phase, replaced when the phase changes: for callbacks `(phase, done, total)`. */
export function phases(): ((phase: string, done: number, total: number) => void) & { done(): void } {
  let current: { name: string; b: Progress } | undefined;
  const f = (phase: string, d: number, t: number) => {
    if (current?.name !== phase) {
      current?.b.stop();
      current = { name: phase, b: bar(phase, t) };
    }
    current.b.update(d, t);
  };
  return Object.assign(f, {
    done() {
      current?.b.stop();
      current = undefined;
    },
  });
}
