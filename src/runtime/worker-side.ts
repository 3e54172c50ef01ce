/**
 * DOC: the worker side of the startup handshake — what every thin entry in `workers/` calls.
 *
 * `workerStartup()` reads the handshake payload from workerData, attaches the system buffer and
 * registers the thread (its lockdep slot and name). `exposeApi()` serves the worker kind's typed
 * control-plane API over comlink on the parent port.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { SystemShm, type SystemHandle } from '../shm/system.js';
import { initThread, type ThreadCtx } from '../shm/lock.js';
import { enrollThread, installRegfileSched } from '../shm/points.js';

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

export function exposeApi(api: object): void {
  if (!parentPort) throw new Error('exposeApi() called outside a worker thread');
  Comlink.expose(api, nodeEndpoint(parentPort));
}
