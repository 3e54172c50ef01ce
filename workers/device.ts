// Entry point: one Dynamic Capacity Device per memdev, as hardware beside the host. Logic: src/device/service.ts.
import { exposeApi, workerStartup } from '../src/runtime/worker-side.js';
import { startDeviceWorker, type DeviceWorkerData } from '../src/device/service.js';
import { deviceApi } from '../src/runtime/device-api.js';

const boot = workerStartup<DeviceWorkerData>();
exposeApi(deviceApi(startDeviceWorker(boot.data, boot.sys)));
