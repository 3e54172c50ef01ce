/**
 * DOC: a full garbage collection of the calling isolate on demand, for memory readings (the bench's
 * memory run, every worker's `__heapStats`). No `--expose-gc` flag is needed: the flag is set at
 * run time (V8 flags are process-wide) and `gc` is taken from a fresh context.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** One full GC of this isolate; a no-op where it is unavailable (the reading then includes garbage). */
export function forceGc(): void {
  try {
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
  } catch {
    /* not available */
  }
}

/** GC, let finalizers run (comlink's FinalizationRegistry for per-call proxies), GC again. */
export async function settleGc(pauseMs: number): Promise<void> {
  forceGc();
  await new Promise((r) => setTimeout(r, pauseMs));
  forceGc();
}
