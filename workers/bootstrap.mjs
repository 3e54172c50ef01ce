// Worker bootstrap for running TypeScript worker entry points from source (tests, `npm run bench:*`).
// On Node 20 a Worker does not inherit the parent's `--import=tsx` loader, so the worker registers
// tsx itself and then imports the real entry named in workerData.__entry (a file: URL).
// Repository only: it is not compiled into dist/ and does not ship in the package, whose compiled
// workers (dist/workers/*.js) start directly (src/runtime/spawn.ts workerEntry).
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.__entry);
