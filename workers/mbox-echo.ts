/**
 * DOC: mailbox echo worker — the bare register-file round trip, a benchmark baseline.
 *
 * Completes every posted command at once with rc 0 and no output, so `bench/device.ts` can put
 * the device's per-command cost beside the cost of the register-file handshake itself (doorbell
 * store + notify, spin/wait, completion). Stops when the register file's STOP word is set.
 */
import { workerData } from 'node:worker_threads';
import { RegFile } from '../src/shm/regfile.js';

const rf = RegFile.attach((workerData as { regfile: SharedArrayBuffer }).regfile);
const SPIN = (workerData as { spin?: number }).spin ?? 20000;
while (!rf.stopped()) {
  if (rf.waitCommand(50, SPIN)) rf.complete(0, 0);
}
