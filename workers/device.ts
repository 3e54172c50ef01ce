/**
 * DOC: device worker entry — one Dynamic Capacity Device per memdev, as hardware beside the host.
 *
 * Reads the startup payload from workerData (`DeviceServiceInit`: config, register-file and media
 * SharedArrayBuffers, optional recordEvents / spin) and exposes the device service over comlink on
 * the parent port. The caller starts the mailbox loop with `start()`. All logic is in
 * src/device/service.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { createDeviceService, type DeviceServiceInit } from '../src/device/service.js';

if (!parentPort) throw new Error('workers/device.ts must run in a worker thread');
const service = createDeviceService(workerData as DeviceServiceInit);
Comlink.expose(service, nodeEndpoint(parentPort));
