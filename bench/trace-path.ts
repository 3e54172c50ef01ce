/**
 * DOC: the single-extent path, stage by stage (issue #17, the eighth session). A closed loop of
 * one-record chains on cxl-test through the FM command ring, as `dcd bench --chain 1` drives
 * them, and for every chain the wall-clock time of each runtime event on its way, relative to the
 * FM call: the first Get Event Records completed, the record handled (`dc-record`), the chain
 * closed, the extent tracked, the DAX group surfaced, the Add DC Response completed, the Clear,
 * the empty Get; then the release's stages. Prints the p50 / p90 of each stage's offset.
 *
 *   node --import=tsx bench/trace-path.ts [chains=3000]
 *
 * Diagnostic only: no figure here is a bench figure (its driver waits on the FM reply bell, or
 * with TRACE_WAIT=poll naps TRACE_NAP_MS without backing off). TRACE_SLOW_US=N prints each add
 * slower than N µs stage by stage; TRACE_TAIL=0 offers the next call as soon as the previous one
 * is answered, as the bench driver does (by default it waits 1 ms for the drain's last events).
 */
import { DcdSystem } from '../src/runtime/system.js';
import { CXL_MBOX_OP } from '../src/wire/cxl.js';
import type { DecodedEvent } from '../src/protocol.js';
import { MiB } from '../src/units.js';

const BLOCK = 2 * MiB;
const DC_BASE = 2048 * MiB;
const N = Number(process.argv[2] ?? 3000);
const wall = (): number => performance.timeOrigin + performance.now();
const nap = new Int32Array(new SharedArrayBuffer(4));
const NAP_MS = Number(process.env.TRACE_NAP_MS ?? 0.2);

const sys = await DcdSystem.start({
  memdevs: [{ name: 'mem0', serial: 0x100, sharable: false, dc: { base: DC_BASE, size: 4096 * MiB, blockSize: BLOCK }, preAccepted: [] }],
  device: 'cxl-test', variant: 'v11', knobs: {}, seed: 1, users: 1, lockdep: true, lockStats: true, dynamicDebug: false,
});
sys.keepEvents = 0;
const r = await sys.createRegion(0, null);
if (!r.ok) throw new Error(r.message);
await sys.waitIdle();

const opName: Record<number, string> = {
  [CXL_MBOX_OP.GET_EVENT_RECORDS]: 'get', [CXL_MBOX_OP.CLEAR_EVENT_RECORDS]: 'clear',
  [CXL_MBOX_OP.ADD_DC_RESPONSE]: 'addrsp', [CXL_MBOX_OP.RELEASE_DC]: 'reldc',
};
let marks: [string, number][] = [];
let phase: 'add' | 'rel' = 'add';
let done = false;
sys.onEvent((d: DecodedEvent) => {
  const ev = d.ev;
  let name: string = ev.type;
  if (ev.type === 'mbox') name = `mbox:${opName[ev.opcode] ?? ev.opcode}`;
  marks.push([`${phase}:${name}`, d.timeMs]);
  if (phase === 'add' && ev.type === 'response') done = true;
  if (phase === 'rel' && ev.type === 'extent-untracked') done = true;
});
const fm = sys.fmRing(0);
const stages = new Map<string, number[]>();
const add = (k: string, v: number): void => { let a = stages.get(k); if (!a) stages.set(k, a = []); a.push(v); };
const until = async (): Promise<void> => {
  const t0 = wall();
  while (!done) {
    // as the bench driver waits (DCD_BENCH_DRIVER_WAIT=fm, or TRACE_WAIT=poll for naps)
    if (sys.drainEvents() === 0) {
      if (process.env.TRACE_WAIT === 'poll') Atomics.wait(nap, 0, 0, NAP_MS);
      else sys.waitFmReplies(2);
    }
    if (wall() - t0 > 5000) throw new Error('stalled');
    await new Promise<void>((res) => setImmediate(res));
  }
  // the events after the one we waited for (Clear, the empty Get): let them arrive — or, with
  // TRACE_TAIL=0, go on at once as the bench driver does (the next call then meets a device still
  // spinning; the previous drain's last events may land in the next call's stages)
  if (process.env.TRACE_TAIL !== '0') for (let i = 0; i < 5; i++) { Atomics.wait(nap, 0, 0, 0.2); sys.drainEvents(); }
};
for (let i = 0; i < N; i++) {
  const off = (i % 64) * BLOCK;
  marks = []; phase = 'add'; done = false;
  const t0 = wall();
  void fm.injectRecords([{ offset: off, length: BLOCK, tag: null, more: false }]);
  await until();
  const addMarks = marks;
  marks = []; phase = 'rel'; done = false;
  const t1 = wall();
  void fm.releaseCapacity({ policy: 'prescriptive', extents: [{ offset: off, length: BLOCK, tag: null }] });
  await until();
  if (i < N / 10) continue; // warm-up
  const tr = addMarks.find(([k]) => k === 'add:extent-tracked');
  if (tr && (tr[1] - t0) * 1000 > Number(process.env.TRACE_SLOW_US ?? 700)) {
    let prev = t0;
    console.log(`slow #${i}: ` + addMarks.map(([k, t]) => { const d = ((t - prev) * 1000).toFixed(0); prev = t; return `${k.slice(4)} +${d}`; }).join(', '));
  }
  const seen = new Set<string>();
  for (const [k, t] of addMarks) { if (t < t0) continue; let kk = k; let j = 2; while (seen.has(kk)) kk = `${k}#${j++}`; seen.add(kk); add(kk, (t - t0) * 1000); }
  for (const [k, t] of marks) { if (t < t1) continue; let kk = k; let j = 2; while (seen.has(kk)) kk = `${k}#${j++}`; seen.add(kk); add(kk, (t - t1) * 1000); }
}
const pct = (a: number[], p: number): number => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(p * s.length))]!; };
const rows = [...stages.entries()].map(([k, a]) => ({ k, n: a.length, p50: pct(a, 0.5), p90: pct(a, 0.9) })).sort((a, b) => (a.k.slice(0, 3) === b.k.slice(0, 3) ? a.p50 - b.p50 : a.k < b.k ? -1 : 1));
for (const x of rows) console.log(`${x.k.padEnd(28)} n=${String(x.n).padStart(5)}  p50 ${x.p50.toFixed(1).padStart(8)} µs  p90 ${x.p90.toFixed(1).padStart(8)} µs`);
await sys.stop();
