/**
 * DOC: the worker side of the startup handshake — what every thin entry in `workers/` calls.
 *
 * `workerStartup()` reads the handshake payload from workerData, attaches the system buffer and
 * registers the thread (its lockdep slot and name). `exposeApi()` serves the worker kind's typed
 * control-plane API over comlink on the parent port.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { getHeapStatistics, writeHeapSnapshot } from 'node:v8';
import { settleGc } from './gc.js';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { SystemShm, type SystemHandle } from '../shm/system.js';
import { currentThread, hasThread, initThread, type ThreadCtx } from '../shm/lock.js';
import { enrollThread, installRegfileSched } from '../shm/points.js';
import type { WorkerHeapStats } from '../protocol.js';

export interface WorkerStartup<D> {
  name: string;
  data: D;
  sys: SystemShm | null;
  thread: ThreadCtx | null;
}

export function workerStartup<D extends { system?: SystemHandle }>(): WorkerStartup<D> {
  if (!parentPort) throw new Error('workerStartup() called outside a worker thread');
  const data = workerData as D & { __name?: string };
  const name = data.__name ?? 'worker';
  let sys: SystemShm | null = null;
  let thread: ThreadCtx | null = null;
  if (data.system) {
    sys = SystemShm.attach(data.system);
    thread = initThread(sys, name);
    installRegfileSched(); // mailbox / interrupt / doorbell waits go through the turnstile when controlled
    enrollThread();
  }
  return { name, data, sys, thread };
}

async function heapStats(): Promise<WorkerHeapStats> {
  await settleGc(50);
  const h = getHeapStatistics();
  return {
    usedHeapBytes: h.used_heap_size,
    totalHeapBytes: h.total_heap_size,
    physicalHeapBytes: h.total_physical_size,
    externalBytes: h.external_memory,
    mallocedBytes: h.malloced_memory,
  };
}

export function exposeApi(api: object): void {
  if (!parentPort) throw new Error('exposeApi() called outside a worker thread');
  // every worker answers a heap reading on the same control plane (bench memory phase, #8)
  Object.defineProperty(api, '__heapStats', { value: heapStats, enumerable: false });
  Object.defineProperty(api, '__heapSnapshot', { value: (file: string) => writeHeapSnapshot(file), enumerable: false });
  // count each message handled once its handler returns (it ran up to its first turnstile point
  // or its end): the main thread counts those it posted (WorkerHandle.posted)
  const ep = nodeEndpoint(parentPort);
  const add = ep.addEventListener.bind(ep);
  type Listener = Parameters<typeof add>[1];
  ep.addEventListener = (type: Parameters<typeof add>[0], listener: Listener): void => {
    const counted: Listener = (ev: Parameters<Extract<Listener, (e: never) => unknown>>[0]) => {
      try {
        if (typeof listener === 'function') listener(ev); else listener.handleEvent(ev);
      } finally {
        if (hasThread()) { const c = currentThread(); c.sys.turnstile.handled(c.slot); }
      }
    };
    add(type, counted);
  };
  Comlink.expose(api, ep);
}
