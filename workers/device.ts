// Entry point: one Dynamic Capacity Device per memdev, as hardware beside the host. Logic: src/device/service.ts.
import { exposeApi, workerStartup } from '../src/runtime/worker-side.js';
import { startDeviceWorker, type DeviceWorkerData } from '../src/device/service.js';
import { deviceApi } from '../src/runtime/device-api.js';

const boot = workerStartup<DeviceWorkerData>();
// The device serves its mailbox outside the controlled scheduler's turnstile (not enrolled): its
// steps were never choices (stress/turnstile.ts runs a device whose doorbell is rung at once), so
// instead of a grant and a park per mailbox command the scheduler waits for the doorbell to clear
// — two thread hops fewer per command, and no decision, trace step or outcome changes.
// DCD_FREE_DEVICES=0 enrolls it as before (eager grants), for an A/B.
if (boot.thread && process.env.DCD_FREE_DEVICES !== '0') boot.sys!.turnstile.enroll(boot.thread.slot, false);
exposeApi(deviceApi(startDeviceWorker(boot.data, boot.sys)));
