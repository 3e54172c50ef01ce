// Entry point: one memdev's event-interrupt thread (cxl_event_thread). Logic: src/runtime/host-workers.ts.
import { exposeApi, workerStartup } from '../src/runtime/worker-side.js';
import { startEventThread, type EventThreadInit } from '../src/runtime/host-workers.js';

const boot = workerStartup<EventThreadInit>();
exposeApi(startEventThread(boot.data, boot.sys!));
