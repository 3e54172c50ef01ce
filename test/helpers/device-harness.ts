/**
 * DOC: test harness for the device — a real device worker plus a host-side mailbox driver.
 *
 * `startDevice(config)` allocates the memdev's register file and media SharedArrayBuffers, starts
 * `workers/device.ts` through `workers/bootstrap.mjs` in a Worker, wraps its service with comlink
 * and starts the serve loop. The test thread then plays the host: `HostMbox` submits mailbox
 * commands through `RegFile.submit` (blocking, as the kernel's mailbox poll) and decodes the
 * replies with the wire codecs, and `media` attaches to the same capacity a DAX user would touch.
 */
import { Worker } from 'node:worker_threads';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { RegFile } from '../../src/shm/regfile.js';
import { Media } from '../../src/device/media.js';
import { allocateDeviceBuffers, type DeviceService } from '../../src/device/service.js';
import type { DeviceConfig } from '../../src/device/config.js';
import * as W from '../../src/wire/cxl.js';

export { MiB, GiB } from '../../src/units.js';

export interface DeviceHarness {
  dev: Comlink.Remote<DeviceService>;
  rf: RegFile;
  media: Media;
  host: HostMbox;
  worker: Worker;
  close(): Promise<void>;
}

export async function startDevice(config: DeviceConfig, opts: { recordEvents?: number; awaitDrain?: boolean; drainTimeoutMs?: number; mockCounter?: SharedArrayBuffer } = {}): Promise<DeviceHarness> {
  const bufs = allocateDeviceBuffers(config);
  const entry = pathToFileURL(fileURLToPath(new URL('../../workers/device.ts', import.meta.url))).href;
  const worker = new Worker(new URL('../../workers/bootstrap.mjs', import.meta.url), {
    workerData: {
      __entry: entry, config, regfile: bufs.regfile, media: bufs.media, recordEvents: opts.recordEvents ?? 0,
      // the test thread plays the host, so FM calls must not wait for a drain unless asked to
      awaitDrain: opts.awaitDrain ?? false, ...(opts.drainTimeoutMs === undefined ? {} : { drainTimeoutMs: opts.drainTimeoutMs }),
      ...(opts.mockCounter ? { mockCounter: opts.mockCounter } : {}),
    },
  });
  const dev = Comlink.wrap<DeviceService>(nodeEndpoint(worker));
  await dev.start();
  const rf = RegFile.attach(bufs.regfile);
  return {
    dev,
    rf,
    media: Media.attach(bufs.media),
    host: new HostMbox(rf),
    worker,
    async close() {
      await dev.stop();
      dev[Comlink.releaseProxy]();
      await worker.terminate();
    },
  };
}

export type Range = { dpa: number; length: number };

/** The host side of the mailbox, driven from the test thread. */
export class HostMbox {
  constructor(readonly rf: RegFile) {}

  /** One command; returns rc and a copy of the output payload. */
  cmd(opcode: number, input: Uint8Array): { rc: number; out: Uint8Array } {
    const r = this.rf.submit(opcode, input, 5000);
    return { rc: r.rc, out: r.out.slice() };
  }

  getEvents(log: number = W.CXL_EVENT_LOG.DCD): { rc: number; out: Uint8Array; value: W.GetEventRecordsOut | null; records: W.DcEventRecord[] } {
    const r = this.cmd(W.CXL_MBOX_OP.GET_EVENT_RECORDS, new Uint8Array([log]));
    if (r.rc !== W.RC.SUCCESS) return { ...r, value: null, records: [] };
    const d = W.decodeGetEventRecordsOut(r.out);
    if (!d.ok) return { ...r, value: null, records: [] };
    const records: W.DcEventRecord[] = [];
    for (const raw of d.value.records) {
      const rec = W.decodeDcEventRecord(raw);
      if (rec.ok) records.push(rec.value);
    }
    return { ...r, value: d.value, records };
  }

  clear(handles: number[], opts: { log?: number; flags?: number; nrRecs?: number } = {}): number {
    const buf = new Uint8Array(W.clearEventRecordsInSize(handles.length));
    W.encodeClearEventRecordsIn({ logType: opts.log ?? W.CXL_EVENT_LOG.DCD, flags: opts.flags ?? 0, handles, ...(opts.nrRecs === undefined ? {} : { nrRecs: opts.nrRecs }) }, buf);
    return this.cmd(W.CXL_MBOX_OP.CLEAR_EVENT_RECORDS, buf).rc;
  }

  /** Get + Clear until the log is empty (the kernel's drain loop); returns every record. */
  drain(max = 10000): W.DcEventRecord[] {
    const all: W.DcEventRecord[] = [];
    for (let i = 0; i < max; i++) {
      const g = this.getEvents();
      if (g.rc !== W.RC.SUCCESS || !g.value || g.value.recordCount === 0) break;
      all.push(...g.records);
      const rc = this.clear(g.records.map((r) => r.hdr.handle));
      if (rc !== W.RC.SUCCESS) throw new Error(`clear failed: ${W.rcName(rc)}`);
    }
    return all;
  }

  dcResponse(opcode: number, extents: Range[], opts: { flags?: number; count?: number; truncateTo?: number } = {}): number {
    const buf = new Uint8Array(W.dcResponseSize(extents.length));
    W.encodeDcResponse({ flags: opts.flags ?? 0, extents: extents.map((e) => ({ dpaStart: BigInt(e.dpa), length: BigInt(e.length) })), ...(opts.count === undefined ? {} : { extentListSize: opts.count }) }, buf);
    return this.cmd(opcode, opts.truncateTo === undefined ? buf : buf.subarray(0, opts.truncateTo)).rc;
  }

  addResponse(extents: Range[], opts: { flags?: number; count?: number; truncateTo?: number } = {}): number {
    return this.dcResponse(W.CXL_MBOX_OP.ADD_DC_RESPONSE, extents, opts);
  }

  release(extents: Range[], opts: { flags?: number; count?: number; truncateTo?: number } = {}): number {
    return this.dcResponse(W.CXL_MBOX_OP.RELEASE_DC, extents, opts);
  }

  getConfig(count = 8, start = 0): { rc: number; out: Uint8Array; value: W.GetDcConfigOut | null } {
    const r = this.cmd(W.CXL_MBOX_OP.GET_DC_CONFIG, new Uint8Array([count, start]));
    const d = r.rc === W.RC.SUCCESS ? W.decodeGetDcConfigOut(r.out) : null;
    return { ...r, value: d && d.ok ? d.value : null };
  }

  getExtentList(start = 0, count = 0xffff): { rc: number; out: Uint8Array; value: W.GetDcExtentListOut | null; error: W.WireError | null } {
    const buf = new Uint8Array(8);
    W.encodeGetDcExtentListIn({ extentCount: count, startExtentIndex: start }, buf);
    const r = this.cmd(W.CXL_MBOX_OP.GET_DC_EXTENT_LIST, buf);
    if (r.rc !== W.RC.SUCCESS) return { ...r, value: null, error: null };
    const d = W.decodeGetDcExtentListOut(r.out);
    return { ...r, value: d.ok ? d.value : null, error: d.ok ? null : d.error };
  }
}

/** Number view of a decoded record's extent. */
export function recExtent(r: W.DcEventRecord): { dpa: number; length: number; tag: string; seq: number; more: boolean; type: number } {
  return { dpa: Number(r.extent.startDpa), length: Number(r.extent.length), tag: r.extent.uuid, seq: r.extent.sharedExtnSeq, more: (r.flags & 1) === 1, type: r.eventType };
}
