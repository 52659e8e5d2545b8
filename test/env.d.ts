import type { D1Migration } from '@cloudflare/vitest-plugin';

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
    }
  }
}

declare module 'vitest' {
  interface ProvidedContext {
    /** A model trained by model/ on generated demo data: its files (base64, by name), a rank graph that cannot run, the catalog. */
    demoModel: { files: Record<string, string>; brokenRankBase64: string; catalog: string };
  }
}
