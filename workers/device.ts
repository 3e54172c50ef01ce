/**
 * DOC: device worker entry — one Dynamic Capacity Device per memdev, as hardware beside the host.
 *
 * Reads the startup payload from workerData (`DeviceServiceInit`: config, register-file and media
 * SharedArrayBuffers, optional recordEvents / spin) and exposes the device service over comlink on
 * the parent port. The caller starts the mailbox loop with `start()`. All logic is in
 * src/device/service.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createDeviceService, type DeviceServiceInit } from '../src/device/service.js';
import { SystemShm, type SystemHandle } from '../src/shm/system.js';
import { initThread } from '../src/shm/lock.js';
import { Clock } from '../src/shm/clock.js';
import { enrollThread, fmStart, installRegfileSched } from '../src/shm/points.js';
import { exposeApi } from '../src/runtime/worker-side.js';

if (!parentPort) throw new Error('workers/device.ts must run in a worker thread');
const data = workerData as DeviceServiceInit & { system?: SystemHandle; __name?: string };
let clock: Clock | undefined;
if (data.system) {
  // part of a DcdSystem: register the thread (lockdep slot, turnstile) and route the
  // register-file waits through the turnstile when a run is controlled
  const sys = SystemShm.attach(data.system);
  initThread(sys, data.__name ?? 'device');
  clock = new Clock(sys); // the modelled mailbox latency advances it when virtual
  installRegfileSched();
  enrollThread();
}
// inside a DcdSystem an event thread drains the log, so a cxl-test FM call can wait for it
// (src/device/service.ts, syncDrain)
const service = createDeviceService({ ...data, awaitDrain: data.awaitDrain ?? Boolean(data.system), ...(clock ? { clock } : {}) });
// fabric-manager commands are recorded in the step log (they run atomically under control)
const FM_METHODS = ['addCapacity', 'injectRaw', 'injectRecords', 'deleteRaw', 'releaseCapacity', 'regionConfigUpdated', 'hostileInject', 'hostileBurst'] as const;
for (const k of FM_METHODS) {
  const f = service[k] as (...a: unknown[]) => unknown;
  (service as unknown as Record<string, unknown>)[k] = (...a: unknown[]) => { fmStart(); return f.apply(service, a); };
}
exposeApi(service);
