// Issue "dcd stress": rows (a)–(c) are found by the stress runner and reproduced by replay.
import t from 'tap';
import { findAndReplay } from './stress-helpers.js';

t.test('(a) tag-lock=off: a tag registered twice (forbidden)', (t) =>
  findAndReplay(t, { row: 'a', workload: 'same-tag-two-memdevs', knobs: { 'tag-lock': 'off' }, variant: 'v11', want: 'tag-registered-twice', wantClass: 'forbidden', maxIterations: 20 }));

t.test('(b) group-lock=per-extent: a claim saw a partial group (forbidden)', (t) =>
  findAndReplay(t, { row: 'b', workload: 'partial-group-claim', knobs: { 'group-lock': 'per-extent' }, variant: 'v11', want: 'partial-group-claimed', wantClass: 'forbidden', maxIterations: 60 }));

t.test('(c) parallel-event-handlers=2: a chain mixed (forbidden)', (t) =>
  findAndReplay(t, { row: 'c', workload: 'parallel-handlers', knobs: { 'parallel-event-handlers': 2 }, variant: 'v11', want: 'chain-mixed', wantClass: 'forbidden', maxIterations: 20 }));
