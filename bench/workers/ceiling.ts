/**
 * Bench fixture worker for the protocol ceiling of `dcd bench` (issue #17, point 1): the mailbox
 * command sequence of a chain with no host work.
 *
 * Two roles, one worker each:
 *  - `device`: the real device service (src/device/service.ts — the personality's DcdDevice, its
 *    serve loop, its records per Get, cxl-test's drain-inside-inject, the modelled mailbox
 *    latency) on a register file of its own, and the fabric manager beside it: it offers chains
 *    of `chain` 2 MiB extents and releases each accepted chain with one Release Capacity record
 *    naming its first extent, as bench/pipeline.ts does — but by direct calls on the same thread
 *    instead of comlink from the main thread (the FM's transport is not part of the protocol).
 *  - `host`: the v11 event drain reduced to its mailbox commands. `cxl_event_thread` (pci.c) wakes
 *    on the interrupt word and drains while Event Status has the DCD bit; `cxl_mem_get_records_log`
 *    (mbox.c) loops Get Event Records → handle each record → Clear Event Records of the batch's
 *    handles until a Get returns no record. Handling an add record stages its extent; the More=0
 *    record sends the chain's Add DC Response (`cxl_send_dc_response`, split to the payload with
 *    More on every part but the last). Handling a release record releases the whole group (X5,
 *    extent.c `rm_tag_group`), one Release DC per member (extent.c `dc_extent_release` →
 *    `cxled_release_extent` → mbox.c `memdev_release_extent`), or one Release DC for the group
 *    when `releaseBatch` is 'group' (the `release-batch=group` knob, NOT v11). No locks, no host
 *    tables, no DAX, no runtime events: what is left is the protocol over the same register file
 *    (src/shm/regfile.ts) with the same wait/wake (the host sleeps on the interrupt word as the
 *    event thread does with DCD_IRQ_DIRECT, polls the doorbell as `submit` does; the device
 *    serves as in the pipeline).
 *
 * Progress between the two: a shared Int32Array — accepted extents, released extents, stop.
 */
import { exposeApi, workerStartup } from '../../src/runtime/worker-side.js';
import { RegFile, waitAsyncAlive } from '../../src/shm/regfile.js';
import { createDeviceService, type DeviceService } from '../../src/device/service.js';
import type { DeviceConfig } from '../../src/device/config.js';
import type { InjectRecord } from '../../src/device/types.js';
import { EVENT_STATUS_DCD } from '../../src/shm/layout.js';
import { osThreadId } from '../../src/shm/os-tid.js';
import { sampleTasks, threadDeltas, type ThreadDelta, type ThreadSample } from '../../src/runtime/thread-stats.js';
import {
  CLEAR_EVENT_HDR, CXL_EVENT_LOG, RC, CXL_INT_MSI_MSIX, CXL_MBOX_OP, DC_EVENT_TYPE, DC_EVENT_UUID, DC_RESPONSE_FLAG_MORE,
  dcResponseMaxEntries, decodeDcEventRecord, decodeGetEventRecordsOut, encodeClearEventRecordsIn, encodeDcResponse,
  encodeEventInterruptPolicy, encodeGetEventRecordsIn, u64ToNumber,
} from '../../src/wire/cxl.js';

const boot = workerStartup<Record<string, never>>();
const now = (): number => performance.timeOrigin + performance.now();

import { C_ACCEPTED, C_ANSWERED, C_FREED, C_HOST_FAILED, C_RELEASED, C_STOP } from '../ceiling-words.js';

export interface CeilingFmParams {
  chain: number;
  tagged: boolean;
  /** chains offered and not yet accepted */
  windowChains: number;
  /** chains holding blocks */
  maxOutstandingChains: number;
  blockBytes: number;
  warmupMs: number;
  durationMs: number;
  /** the host worker's Linux task id: its counters are read beside this thread's at the window's edges */
  hostTid?: number;
}

export interface CeilingFmResult {
  /** extents accepted inside the window */
  accepted: number;
  windowMs: number;
  /** accepted over the whole run (run-in and drain included) */
  acceptedTotal: number;
  /** mailbox commands the device completed over the whole run */
  commands: number;
  /** the host's and this worker's (device + FM) CPU, sleeps and run-queue wait inside the window */
  threads: ThreadDelta[];
  errors: string[];
}

let svc: DeviceService | null = null;
let tagCounter = 0;

const api = {
  ready: () => boot.name,
  /** this worker's Linux task id (0 off Linux) */
  tid: () => osThreadId(),

  deviceStart(config: DeviceConfig, regfile: SharedArrayBuffer, media: SharedArrayBuffer, mockCounter: SharedArrayBuffer): void {
    svc = createDeviceService({ config, regfile, media, mockCounter, awaitDrain: true });
    svc.start();
  },

  async deviceStop(): Promise<void> {
    if (svc) await svc.stop();
    svc = null;
  },

  /** The FM: offer and release chains for warm-up + duration, then drain; see the DOC. */
  async fmRun(shared: SharedArrayBuffer, p: CeilingFmParams): Promise<CeilingFmResult> {
    const s = svc;
    if (!s) throw new Error('ceiling: device not started');
    const c = new Int32Array(shared);
    const K = p.chain;
    const errors: string[] = [];
    const cmd0 = s.commandsServed();
    const poolChains = p.maxOutstandingChains;
    /** chain slot i uses blocks [i*K, (i+1)*K) */
    const state = new Int8Array(poolChains); // 0 free, 1 offered, 2 accepted (release pending), 3 releasing
    const tags: (string | null)[] = new Array<string | null>(poolChains).fill(null);
    const order: number[] = []; // offered slots in order (the host answers chains FIFO)
    const releasing: number[] = [];
    let next = 0;
    let offered = 0;
    let acceptedChains = 0;
    let releasedChains = 0;
    const t0 = now();
    const wStart = t0 + p.warmupMs;
    const wEnd = wStart + p.durationMs;
    let accAtStart = -1;
    let accAtEnd = -1;
    const tasks = [{ name: 'ceiling-host', tid: p.hostTid ?? 0 }, { name: 'ceiling-device', tid: osThreadId() }];
    let tasksAtStart: ThreadSample[] = [];
    let threads: ThreadDelta[] | null = null;
    const check = (what: string) => (r: { ok: boolean; error?: string }): void => { if (!r.ok) errors.push(`${what}: ${r.error ?? 'failed'}`); };
    let lastProgress = now();
    for (;;) {
      const t = now();
      const acc = Atomics.load(c, C_ACCEPTED);
      const answered = Atomics.load(c, C_ANSWERED);
      const rel = Atomics.load(c, C_FREED);
      if (accAtStart < 0 && t >= wStart) { accAtStart = acc; tasksAtStart = sampleTasks(tasks); }
      if (accAtEnd < 0 && t >= wEnd) { accAtEnd = acc; threads = threadDeltas(tasksAtStart, sampleTasks(tasks)); }
      // chains the host answered (FIFO) → release them (on qemu a chain past the response split
      // is answered with fewer extents accepted than offered: see hostRun)
      while (acceptedChains < answered) {
        const slot = order.shift()!;
        state[slot] = 3;
        releasing.push(slot);
        acceptedChains++;
        const first = { offset: slot * K * p.blockBytes, length: p.blockBytes, tag: tags[slot] ?? null };
        void s.releaseCapacity({ policy: 'prescriptive', extents: [first] }).then(check('release'), (e: unknown) => errors.push(String(e)));
      }
      while (releasedChains < rel) {
        state[releasing.shift()!] = 0;
        releasedChains++;
      }
      if (errors.length) break;
      if (Atomics.load(c, C_HOST_FAILED) !== 0) { errors.push('ceiling: the host stopped on a mailbox error'); break; }
      const submitting = t < wEnd;
      if (!submitting && releasedChains === offered) break;
      if (t - lastProgress > 15_000) { errors.push(`ceiling: no progress for 15 s (offered ${offered}, accepted ${acceptedChains}, released ${releasedChains})`); break; }
      let pending: Promise<unknown> | null = null;
      while (submitting && offered - acceptedChains < p.windowChains && state[next] === 0) {
        const slot = next;
        next = (next + 1) % poolChains;
        state[slot] = 1;
        order.push(slot);
        offered++;
        tagCounter++;
        const tag = p.tagged ? `c0000000-0000-4000-8000-${tagCounter.toString(16).padStart(12, '0')}` : null;
        tags[slot] = tag;
        const recs: InjectRecord[] = [];
        for (let k = 0; k < K; k++) recs.push({ offset: (slot * K + k) * p.blockBytes, length: p.blockBytes, tag, more: k < K - 1 });
        pending = s.injectRecords(recs).then(check('inject'), (e: unknown) => errors.push(String(e)));
      }
      void pending;
      // sleep until the host moves a counter (or 2 ms; the device's serve loop runs meanwhile)
      if (Atomics.load(c, C_ANSWERED) === answered && Atomics.load(c, C_FREED) === rel) {
        await Promise.race([waitAsyncAlive(c, C_ANSWERED, answered, 2), waitAsyncAlive(c, C_FREED, rel, 2)]);
      } else {
        lastProgress = now();
      }
      if (Atomics.load(c, C_ANSWERED) !== answered || Atomics.load(c, C_FREED) !== rel) lastProgress = now();
    }
    const tEnd = now();
    if (accAtStart < 0) accAtStart = 0;
    if (accAtEnd < 0) accAtEnd = Atomics.load(c, C_ACCEPTED);
    return {
      accepted: accAtEnd - accAtStart,
      windowMs: Math.max(1e-3, Math.min(wEnd, tEnd) - wStart),
      acceptedTotal: Atomics.load(c, C_ACCEPTED),
      commands: s.commandsServed() - cmd0,
      threads: threads ?? threadDeltas(tasksAtStart, sampleTasks(tasks)),
      errors,
    };
  },

  /**
   * The host: serve interrupts until `shared[C_STOP]`. Returns the mailbox commands it sent.
   * `releaseBatch` 'extent' is v11; 'group' is the knob (see the DOC).
   *
   * A response longer than the payload allows goes out in parts (v11 mbox.c `cxl_send_dc_response`:
   * More on every part but the last; the first refused part ends it). On QEMU (85 entries per
   * part) that tears a chain of 86–100: `cmd_dcd_add_dyn_cap_rsp` ignores More, accepts the first
   * part and deletes the whole front group, so the next part is Invalid PA (H10,
   * docs/personalities.md). The host still tracks every extent of the chain (the refused rc comes
   * after `cxl_add_pending` realized them), so its release sends a Release DC for each, and the
   * device answers Invalid PA for those it never accepted (extent.c `memdev_release_extent` only
   * logs it). Those refusals are what QEMU does, not errors: the counters say how many extents
   * the device accepted (C_ACCEPTED) and how many the host released (C_RELEASED).
   */
  hostRun(regfile: SharedArrayBuffer, shared: SharedArrayBuffer, releaseBatch: 'extent' | 'group'): { commands: number; errors: string[] } {
    const rf = RegFile.attach(regfile);
    const c = new Int32Array(shared);
    const errors: string[] = [];
    let commands = 0;
    const maxEntries = Math.max(1, dcResponseMaxEntries(rf.payloadSize));
    const out = new Uint8Array(rf.payloadSize);
    /** the reply, copied out of the register file as `cxl_internal_send_cmd` does (a later command overwrites the payload) */
    const reply = new Uint8Array(rf.payloadSize);
    const send = (op: number, len: number): { rc: number; out: Uint8Array } => {
      commands++;
      const r = rf.submit(op, out.subarray(0, len), 5000);
      reply.set(r.out, 0);
      return { rc: r.rc, out: reply.subarray(0, r.out.length) };
    };
    const fail = (op: number, rc: number): void => { errors.push(`mailbox 0x${op.toString(16)} rc ${rc}`); };
    // probe: Set Event Interrupt Policy with the DCD byte (v11 pci.c cxl_event_config_msgnums)
    const probe = send(CXL_MBOX_OP.SET_EVENT_INTERRUPT_POLICY, encodeEventInterruptPolicy({ info: 0, warn: 0, failure: 0, fatal: 0, dcd: CXL_INT_MSI_MSIX }, out, 0));
    if (probe.rc !== 0) fail(CXL_MBOX_OP.SET_EVENT_INTERRUPT_POLICY, probe.rc);
    const getIn = new Uint8Array(1);
    encodeGetEventRecordsIn({ logType: CXL_EVENT_LOG.DCD }, getIn, 0);
    /** the staged chain (DPA, length pairs) */
    const staged: number[] = [];
    /** answered groups by first DPA → their [dpa, len, …] and how many of them the device accepted */
    const groups = new Map<number, { list: number[]; accepted: number }>();
    const handles: number[] = [];
    /**
     * `cxl_send_dc_response` of entries [from, to) of `list`: parts of `maxEntries`, stopping at
     * the first refused part. `refusable` = entries at or past this index may be refused with
     * Invalid PA (see the DOC). Returns the entries of the parts the device took.
     */
    const respond = (op: number, list: number[], from: number, to: number, refusable: number): number => {
      let done = 0;
      for (let i = from; i < to || (to === from && i === from); i += maxEntries) {
        const part = Math.min(maxEntries, to - i);
        const extents = [];
        for (let j = 0; j < part; j++) extents.push({ dpaStart: BigInt(list[2 * (i + j)]!), length: BigInt(list[2 * (i + j) + 1]!) });
        const len = encodeDcResponse({ flags: i + maxEntries < to ? DC_RESPONSE_FLAG_MORE : 0, extents }, out, 0);
        const r = send(op, len);
        if (r.rc !== 0) {
          if (!(r.rc === RC.INVALID_PA && i + part > refusable)) fail(op, r.rc);
          break;
        }
        done += part;
        if (to === from) break;
      }
      return done;
    };
    let last = rf.irqCount();
    const drain = (): void => {
      // cxl_event_thread: while Event Status has the DCD bit, cxl_mem_get_records_log
      while ((rf.eventStatus() & EVENT_STATUS_DCD) !== 0 && !rf.stopped() && errors.length === 0) {
        for (;;) {
          out.set(getIn, 0);
          const g = send(CXL_MBOX_OP.GET_EVENT_RECORDS, 1);
          if (g.rc !== 0) { fail(CXL_MBOX_OP.GET_EVENT_RECORDS, g.rc); return; }
          const d = decodeGetEventRecordsOut(g.out);
          if (!d.ok || d.value.recordCount === 0) break;
          handles.length = 0;
          for (const raw of d.value.records) {
            const r = decodeDcEventRecord(raw);
            if (!r.ok) continue;
            handles.push(r.value.hdr.handle);
            if (r.value.hdr.uuid !== DC_EVENT_UUID) continue;
            const dpa = u64ToNumber(r.value.extent.startDpa) ?? -1;
            const len = u64ToNumber(r.value.extent.length) ?? 0;
            if (r.value.eventType === DC_EVENT_TYPE.ADD_CAPACITY) {
              staged.push(dpa, len);
              if ((r.value.flags & 1) === 0) {
                const list = staged.splice(0);
                const n = list.length / 2;
                // later parts of a split response may be refused (QEMU tears the chain: DOC)
                const accepted = respond(CXL_MBOX_OP.ADD_DC_RESPONSE, list, 0, n, maxEntries);
                groups.set(list[0]!, { list, accepted });
                Atomics.add(c, C_ACCEPTED, accepted);
                Atomics.add(c, C_ANSWERED, 1);
                Atomics.notify(c, C_ANSWERED);
              }
            } else if (r.value.eventType === DC_EVENT_TYPE.RELEASE_CAPACITY) {
              const grp = groups.get(dpa);
              if (!grp) { errors.push(`release of 0x${dpa.toString(16)}: no such group`); continue; }
              groups.delete(dpa);
              const n = grp.list.length / 2;
              if (releaseBatch === 'group') respond(CXL_MBOX_OP.RELEASE_DC, grp.list, 0, n, grp.accepted);
              else for (let i = 0; i < n; i++) respond(CXL_MBOX_OP.RELEASE_DC, grp.list, i, i + 1, grp.accepted);
              Atomics.add(c, C_RELEASED, n);
              Atomics.add(c, C_FREED, 1);
              Atomics.notify(c, C_FREED);
            }
          }
          // Clear Event Records of the batch's handles (every handle, handled or not)
          const len = encodeClearEventRecordsIn({ logType: CXL_EVENT_LOG.DCD, flags: 0, handles }, out, 0);
          if (len >= CLEAR_EVENT_HDR) {
            const cl = send(CXL_MBOX_OP.CLEAR_EVENT_RECORDS, len);
            if (cl.rc !== 0) { fail(CXL_MBOX_OP.CLEAR_EVENT_RECORDS, cl.rc); return; }
          }
        }
      }
    };
    while (Atomics.load(c, C_STOP) === 0 && errors.length === 0) {
      const seen = rf.waitIrq(last, 20);
      if (seen === last && (rf.eventStatus() & EVENT_STATUS_DCD) === 0) continue;
      last = seen;
      drain();
    }
    if (errors.length) {
      Atomics.store(c, C_HOST_FAILED, 1);
      Atomics.notify(c, C_FREED);
    }
    return { commands, errors };
  },
};

export type CeilingApi = typeof api;
exposeApi(api);
