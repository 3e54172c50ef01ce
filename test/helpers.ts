// Shared helpers for tests: a system buffer for the test's main thread and fixture spawning.
import { fileURLToPath } from 'node:url';
import { SystemShm, type SystemOptions } from '../src/shm/system.js';
import { initThread } from '../src/shm/lock.js';
import { spawnWorker, type WorkerHandle } from '../src/runtime/spawn.js';
import type { ShmWorkerApi } from './fixtures/shm-worker.js';

export function newSystem(opts: SystemOptions = {}): SystemShm {
  const sys = SystemShm.create(opts);
  initThread(sys, "tap-main"); // (re)bind the test thread to this system
  return sys;
}

export function fixture(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

export async function shmWorkers(sys: SystemShm, n: number, scratch: SharedArrayBuffer): Promise<WorkerHandle<ShmWorkerApi>[]> {
  const ws = Array.from({ length: n }, (_, i) => spawnWorker<ShmWorkerApi>({
    kind: 'fixture', name: `shm-worker-${i}`, entryFile: fixture('shm-worker.ts'), data: { system: sys.handle(), scratch },
  }));
  await Promise.all(ws.map((w) => w.call((a) => a.ready())));
  return ws;
}
