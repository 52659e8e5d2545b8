import type { D1Migration } from '@cloudflare/vitest-pool-workers';

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
    }
  }
}

declare module 'vitest' {
  interface ProvidedContext {
    /** A model trained by model/ on generated demo data: base64 graph + manifest JSON. */
    demoModel: { onnxBase64: string; manifest: string; catalog: string };
  }
}
