// Entry point: the DAX bus driver core (cxl_dax_region probe, bind, unbind). Logic: src/runtime/host-workers.ts.
import { exposeApi, workerStartup } from '../src/runtime/worker-side.js';
import { startDaxBus } from '../src/runtime/host-workers.js';
import type { SharedHandles } from '../src/protocol.js';

const boot = workerStartup<SharedHandles>();
exposeApi(startDaxBus(boot.data, boot.sys!));
