// Entry point: system_wq (the DC add-chain watchdog). Logic: src/runtime/host-workers.ts.
import { exposeApi, workerStartup } from '../src/runtime/worker-side.js';
import { startWorkqueue } from '../src/runtime/host-workers.js';
import type { SharedHandles } from '../src/protocol.js';

const boot = workerStartup<SharedHandles & { memdev?: number }>();
exposeApi(startWorkqueue(boot.data, boot.sys!));
