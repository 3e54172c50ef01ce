// Entry point: a user-space sysfs writer (cxl/daxctl). Logic: src/runtime/host-workers.ts.
import { exposeApi, workerStartup } from '../src/runtime/worker-side.js';
import { startUser } from '../src/runtime/host-workers.js';
import type { SharedHandles } from '../src/protocol.js';

const boot = workerStartup<SharedHandles & { user: number }>();
exposeApi(startUser(boot.data, boot.sys!));
