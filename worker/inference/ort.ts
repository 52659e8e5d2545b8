/**
 * onnxruntime-web inside workerd.
 *
 * workerd refuses to compile WASM from bytes at run time, so ORT's own loader cannot
 * instantiate its binary. We import the binary as a precompiled WebAssembly.Module
 * (wrangler's CompiledWasm rule) and hand ORT a small marker as `wasmBinary`; ORT's
 * emscripten glue then calls WebAssembly.instantiate(copyOfMarker, imports), which we
 * intercept and answer with the precompiled module. Every other call passes through.
 * This depends on ORT's loader internals: the version is pinned and
 * test/inference.test.ts fails if the interception stops working.
 */
import * as ort from 'onnxruntime-web/wasm';
import ortWasmModule from 'onnxruntime-web/ort-wasm-simd-threaded.wasm';
import { INPUTS } from '../../model/contract';
import { buildRankModel } from '../../model/rank/graph';

const MARKER = new Uint8Array([0x00, 0x70, 0x31, 0x33, 0x6e, 0x2d, 0x6f, 0x72, 0x74, 0x21]);

function isMarker(source: unknown): boolean {
  if (!(source instanceof Uint8Array) || source.length !== MARKER.length) return false;
  for (let i = 0; i < MARKER.length; i++) if (source[i] !== MARKER[i]) return false;
  return true;
}

let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  const native = WebAssembly.instantiate.bind(WebAssembly) as (...args: unknown[]) => Promise<unknown>;
  (WebAssembly as { instantiate: unknown }).instantiate = (source: unknown, imports?: WebAssembly.Imports) => {
    if (isMarker(source)) {
      return (native(ortWasmModule, imports) as Promise<WebAssembly.Instance>).then((instance) => ({
        module: ortWasmModule,
        instance,
      }));
    }
    return native(source, imports);
  };
  ort.env.wasm.wasmBinary = MARKER;
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = 'error';
}

/** Session options used everywhere: WebGPU first where the runtime has it, WASM otherwise. */
export function sessionOptions(): ort.InferenceSession.SessionOptions {
  const hasWebGpu = typeof (globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu !== 'undefined';
  return {
    executionProviders: hasWebGpu ? ['webgpu', 'wasm'] : ['wasm'],
    graphOptimizationLevel: 'all',
    // Fold int8 DequantizeLinear over initializers once at load, not on every run.
    extra: { session: { disable_quant_qdq: '1' } },
  };
}

export async function createSession(bytes: Uint8Array): Promise<ort.InferenceSession> {
  install();
  return ort.InferenceSession.create(bytes, sessionOptions());
}

/**
 * Instantiating ORT's WASM runtime (a 14 MB module) and its first session and run are most of a
 * fresh isolate's first model load (~150 ms). workerd allows no asynchronous work at global scope,
 * so a warm-up started there never runs: `warmRuntime()` is started by the isolate's first
 * request of any kind, after its answer (waitUntil), with a one-weight rank graph built here, so
 * the first recommendation only creates the model's own (small) session. Failures are ignored:
 * the first real load then does the work and reports any error.
 */
let warming: Promise<void> | null = null;

export function warmRuntime(): Promise<void> {
  warming ??= (async () => {
    const s = await createSession(buildRankModel(new Float32Array(1)));
    await s.run({ [INPUTS.features]: new ort.Tensor('float32', new Float32Array(1), [1, 1]), [INPUTS.k]: new ort.Tensor('int64', BigInt64Array.of(1n), [1]) });
    await s.release();
  })().catch(() => undefined);
  return warming;
}

export { ort };
