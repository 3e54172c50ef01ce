// Issue "dcd stress": rows (d)–(f) are found by the stress runner and reproduced by replay.
import t from 'tap';
import { findAndReplay } from './stress-helpers.js';

t.test('(d) v11 AB-BA add_ctx.lock / device_lock(cxlr_dax): the deadlock reported as a hung wait (known hazard H2)', (t) =>
  findAndReplay(t, { row: 'd', workload: 'chain-close-vs-probe', knobs: {}, variant: 'v11', want: 'hung-wait-h2', wantClass: 'known-hazard', maxIterations: 20 }));

t.test('(e) watchdog vs late tail: two responses for one device chain (known hazard H4)', (t) =>
  findAndReplay(t, { row: 'e', workload: 'watchdog-vs-late-tail', knobs: {}, variant: 'v11', want: 'double-response-after-timeout', wantClass: 'known-hazard', maxIterations: 10 }));

t.test('(f) a v10 host against a v11 device: sharable groups refused (known hazard)', (t) =>
  findAndReplay(t, { row: 'f', workload: 'v10-sharable', knobs: {}, variant: 'v10', want: 'sharable-group-refused-seq', wantClass: 'known-hazard', maxIterations: 5 }));
