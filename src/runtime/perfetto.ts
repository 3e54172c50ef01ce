/**
 * DOC: a Chrome / Perfetto trace-event JSON of a run (opens in ui.perfetto.dev or chrome://tracing).
 *
 * One track per worker thread (named after the thread: device/mem0, irq/mem0, workqueue,
 * dax-bus, user0, main); lock holds are complete slices ("X") named after the lock class;
 * mailbox commands, DC records, responses, claims and extent transitions are instant events
 * ("i") with their fields as args. Timestamps are wall-clock microseconds relative to the first
 * event of the run.
 */
import type { DecodedEvent } from '../protocol.js';
import { lockClassName } from '../shm/lock-classes.js';
import { opcodeName, rcName } from '../wire/cxl.js';

interface TraceEvent {
  name: string;
  ph: 'X' | 'i' | 'M';
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  s?: 't' | 'p' | 'g';
  cat?: string;
  args?: Record<string, unknown>;
}

export function toPerfetto(events: readonly DecodedEvent[], threadName: (slot: number) => string): { traceEvents: TraceEvent[]; displayTimeUnit: 'ms' } {
  const out: TraceEvent[] = [];
  const t0 = events.reduce((m, e) => Math.min(m, e.ev.type === 'lock-hold' ? e.ev.t0 : e.timeMs), Infinity);
  const us = (ms: number): number => Math.max(0, (ms - (Number.isFinite(t0) ? t0 : 0)) * 1000);
  const tids = new Set<number>();
  for (const d of events) {
    const tid = d.thread + 1; // main-thread emissions have slot -1 → tid 0
    tids.add(d.thread);
    const ev = d.ev;
    switch (ev.type) {
      case 'lock-hold':
        out.push({ name: lockClassName(ev.cls), cat: 'lock', ph: 'X', ts: us(ev.t0), dur: Math.max(0.1, (ev.t1 - ev.t0) * 1000), pid: 1, tid: ev.thread + 1, args: { lock: ev.lock } });
        tids.add(ev.thread);
        break;
      case 'mbox':
        out.push({ name: `mbox ${opcodeName(ev.opcode)}`, cat: 'mailbox', ph: 'i', s: 't', ts: us(d.timeMs), pid: 1, tid, args: { rc: rcName(ev.rc), nrExtents: ev.nrExtents, more: ev.more } });
        break;
      default: {
        const { type, ...args } = ev;
        out.push({ name: type, cat: type.startsWith('dax') || type === 'claim' ? 'dax' : 'cxl', ph: 'i', s: 't', ts: us(d.timeMs), pid: 1, tid, args });
      }
    }
  }
  for (const slot of tids) {
    out.push({ name: 'thread_name', ph: 'M', ts: 0, pid: 1, tid: slot + 1, args: { name: slot < 0 ? 'main (fabric manager)' : threadName(slot) } });
  }
  out.push({ name: 'process_name', ph: 'M', ts: 0, pid: 1, tid: 0, args: { name: 'cxl-dcd-model' } });
  return { traceEvents: out, displayTimeUnit: 'ms' };
}

/** A named span on a track (a thread, or a thread's lock track), in ms. */
export interface TimelineSlice {
  name: string;
  t0: number;
  t1: number;
  cat?: string;
  args?: Record<string, unknown>;
}

export interface TimelineInstant {
  name: string;
  t: number;
  cat?: string;
  args?: Record<string, unknown>;
}

export interface TimelineTrack {
  name: string;
  slices: TimelineSlice[];
  instants?: TimelineInstant[];
}

/**
 * A Perfetto trace from prepared tracks (stress/explain.ts builds them from a replayed trace:
 * kernel-function slices nested in their path — the add path, the release path, the probe and
 * its scan, claims, teardown — with each thread's lock holds on a track beside it). Slices on one
 * track nest by time containment, as Perfetto draws them.
 */
export function timelineToPerfetto(tracks: readonly TimelineTrack[]): { traceEvents: TraceEvent[]; displayTimeUnit: 'ms' } {
  const out: TraceEvent[] = [];
  tracks.forEach((tr, i) => {
    const tid = i + 1;
    out.push({ name: 'thread_name', ph: 'M', ts: 0, pid: 1, tid, args: { name: tr.name } });
    out.push({ name: 'thread_sort_index', ph: 'M', ts: 0, pid: 1, tid, args: { sort_index: i } });
    // outer slices first at equal start so Perfetto nests the inner ones under them
    const sl = [...tr.slices].sort((a, b) => a.t0 - b.t0 || (b.t1 - b.t0) - (a.t1 - a.t0));
    for (const s of sl) out.push({ name: s.name, cat: s.cat ?? 'kernel', ph: 'X', ts: s.t0 * 1000, dur: Math.max(0.5, (s.t1 - s.t0) * 1000), pid: 1, tid, ...(s.args ? { args: s.args } : {}) });
    for (const e of tr.instants ?? []) out.push({ name: e.name, cat: e.cat ?? 'event', ph: 'i', s: 't', ts: e.t * 1000, pid: 1, tid, ...(e.args ? { args: e.args } : {}) });
  });
  out.push({ name: 'process_name', ph: 'M', ts: 0, pid: 1, tid: 0, args: { name: 'cxl-dcd-model (replay)' } });
  return { traceEvents: out, displayTimeUnit: 'ms' };
}
