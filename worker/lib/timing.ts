/** Collects durations for the Server-Timing header. */
export class Timing {
  private readonly start = performance.now();
  private readonly parts: [string, number][] = [];

  async measure<T>(name: string, work: Promise<T> | (() => Promise<T>)): Promise<T> {
    const t0 = performance.now();
    try {
      return await (typeof work === 'function' ? work() : work);
    } finally {
      this.parts.push([name, performance.now() - t0]);
    }
  }

  add(name: string, ms: number): void {
    this.parts.push([name, ms]);
  }

  header(): string {
    const total = performance.now() - this.start;
    return [...this.parts, ['total', total] as [string, number]].map(([n, d]) => `${n};dur=${d.toFixed(2)}`).join(', ');
  }
}
