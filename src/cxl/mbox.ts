/**
 * DOC: cxl mbox — the host side of the mailbox, the event-log drain and DC record dispatch
 * (drivers/cxl/core/mbox.c in the series; host-kernel.md §2.1, §2.2, §2.7).
 *
 * Every device byte is untrusted: outputs are decoded with the bounds-checked codecs of
 * src/wire/cxl.ts, and a decode failure is an -EIO like a short or lying payload in the kernel.
 *
 * Locking: one command at a time per memdev under the memdev's mailbox mutex
 * (`cxl_internal_send_cmd`); a whole drain of the DC log under `event.log_lock`
 * (`cxl_mem_get_records_log`). With the `parallel-event-handlers=N` knob (N > 1) several threads
 * drain one memdev: each takes `event.log_lock` only around Get + Clear and handles its batch
 * outside it — the hypothesis the cover letter rejects, made runnable.
 */
import {
  CLEAR_EVENT_MAX_HANDLES, CXL_EVENT_LOG, CXL_MBOX_OP, DC_EVENT_UUID, DC_RESPONSE_FLAG_MORE,
  decodeDcEventRecord, decodeGetEventRecordsOut, encodeClearEventRecordsIn, encodeDcResponse,
  encodeGetEventRecordsIn, dcResponseMaxEntries, rcErrno, rcName, u64ToNumber, type DcEventRecord,
} from '../wire/cxl.js';
import { EVENT_STATUS_DCD } from '../shm/layout.js';
import { noisePoint, withLock } from '../shm/lock.js';
import { NOISE_SITE } from '../shm/sched.js';
import type { HostCtx } from '../host/context.js';
import { ERRNO_CODE } from '../protocol.js';
import { cxl_rm_extent, handle_add_event } from './extent.js';
import { memdevName } from './memdev.js';

/** A mailbox result: rc is the device return code (0 success, -1 timeout); errno per the kernel. */
export interface MboxReply {
  rc: number;
  /** errno name for rc != 0 (kernel CMD_CMD_RC_TABLE), 'OK' for success */
  errno: string;
  /** a copy of the output payload */
  out: Uint8Array;
}

const scratch = new Uint8Array(1 << 20);

/**
 * cxl_internal_send_cmd(): one command, under the memdev's mailbox mutex. Returns the device's
 * return code and a copy of the output. Emits a `mbox` runtime event (the mailbox trace).
 */
export function cxl_internal_send_cmd(ctx: HostCtx, memdev: number, opcode: number, input: Uint8Array, trace?: { nrExtents: number; more: number; dpa: number; len: number }): MboxReply {
  const m = ctx.host.memdev(memdev);
  const lock = ctx.host.memdevs.get(m, 'mboxLock');
  return withLock(lock, () => {
    const rf = ctx.regfile(memdev);
    const { rc, out } = rf.submit(opcode, input, ctx.options.mboxTimeoutMs);
    const copy = out.slice();
    ctx.emit({ type: 'mbox', memdev, opcode, rc, nrExtents: trace?.nrExtents ?? 0, more: trace?.more ?? 0, dpa: trace?.dpa ?? 0, len: trace?.len ?? 0 });
    if (rc !== 0) ctx.dmesg('dbg', memdevName(memdev), `mailbox command 0x${opcode.toString(16)} failed: ${rcName(rc)}`);
    return { rc, errno: rc === 0 ? 'OK' : rcErrno(rc), out: copy };
  });
}

/** One DC response entry (DPA start, length). */
export interface DcRange {
  dpa: number;
  len: number;
}

/**
 * cxl_send_dc_response(): Add DC Response or Release DC for `list`, split into parts that fit
 * the mailbox payload, More set on every part but the last (host-kernel.md §2.7). An empty list
 * sends one command with 0 entries (reject all). A mailbox error aborts the remaining parts and
 * is returned; nothing already done is rolled back (H10).
 */
export function cxl_send_dc_response(ctx: HostCtx, memdev: number, opcode: number, list: DcRange[], chain: number): number {
  const payloadSize = ctx.regfile(memdev).payloadSize;
  const max = Math.max(1, dcResponseMaxEntries(payloadSize));
  let parts = 0;
  let rc = 0;
  const send = (entries: DcRange[], more: boolean): number => {
    const n = encodeDcResponse({ flags: more ? DC_RESPONSE_FLAG_MORE : 0, extents: entries.map((e) => ({ dpaStart: BigInt(e.dpa), length: BigInt(e.len) })) }, scratch, 0);
    parts++;
    const first = entries[0];
    return cxl_internal_send_cmd(ctx, memdev, opcode, scratch.subarray(0, n), { nrExtents: entries.length, more: more ? 1 : 0, dpa: first?.dpa ?? 0, len: first?.len ?? 0 }).rc;
  };
  if (opcode === CXL_MBOX_OP.ADD_DC_RESPONSE) {
    for (const e of list) ctx.emit({ type: 'response-extent', memdev, chain, dpa: e.dpa, len: e.len });
  }
  if (list.length === 0) {
    rc = send([], false);
  } else {
    for (let i = 0; i < list.length && rc === 0; i += max) {
      const part = list.slice(i, i + max);
      rc = send(part, i + max < list.length);
    }
  }
  if (opcode === CXL_MBOX_OP.ADD_DC_RESPONSE) {
    ctx.emit({ type: 'response', memdev, chain, nrExtents: list.length, parts, rc });
  }
  return rc === 0 ? 0 : -(ERRNO_CODE[rcErrno(rc)] ?? ERRNO_CODE.ENXIO!);
}

/** memdev_release_extent(): one Release DC for one range; a failure is only logged (dev_dbg). */
export function memdev_release_extent(ctx: HostCtx, memdev: number, range: DcRange): void {
  const rc = cxl_send_dc_response(ctx, memdev, CXL_MBOX_OP.RELEASE_DC, [range], 0);
  if (rc) ctx.dmesg('dbg', memdevName(memdev), `Release response dpa ${hex(range.dpa)} len ${hex(range.len)} failed: ${rc}`);
  else ctx.dmesg('dbg', memdevName(memdev), `Release response dpa ${hex(range.dpa)} len ${hex(range.len)}`);
}

export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

// ----------------------------------------------------------------------------- event drain

/**
 * cxl_event_thread(): the threaded IRQ handler body — re-read Event Status and drain until it
 * reads clear (host-kernel.md §2.1). Only the DC log is modelled (BIOS owns the others when
 * native_cxl is false; with it true they would be drained after DCD and are empty here).
 */
export function cxl_event_thread(ctx: HostCtx, memdev: number): number {
  const rf = ctx.regfile(memdev);
  let passes = 0;
  for (;;) {
    const status = rf.eventStatus() & EVENT_STATUS_DCD;
    if (status === 0 || rf.stopped()) break;
    cxl_mem_get_event_records(ctx, memdev, status);
    passes++;
  }
  return passes;
}

/** cxl_mem_get_event_records(): the DCD log first (v11-12), then FATAL, FAIL, WARN, INFO. */
export function cxl_mem_get_event_records(ctx: HostCtx, memdev: number, status: number): void {
  const m = ctx.host.memdev(memdev);
  if (ctx.host.memdevs.get(m, 'dcdSupported') && status & EVENT_STATUS_DCD) {
    cxl_mem_get_records_log(ctx, memdev, CXL_EVENT_LOG.DCD);
  }
}

interface FetchedBatch {
  records: DcEventRecord[];
  handles: number[];
  overflow: boolean;
}

/** Get Event Records once; null when the log is empty or the command/payload failed. */
function getRecords(ctx: HostCtx, memdev: number, log: number): FetchedBatch | null {
  const inBuf = new Uint8Array(1);
  encodeGetEventRecordsIn({ logType: log }, inBuf, 0);
  const reply = cxl_internal_send_cmd(ctx, memdev, CXL_MBOX_OP.GET_EVENT_RECORDS, inBuf);
  if (reply.rc !== 0) {
    ctx.dmesg('err', memdevName(memdev), `Event log '${log}': Failed to query event records : ${reply.errno}`);
    return null;
  }
  const d = decodeGetEventRecordsOut(reply.out);
  if (!d.ok) {
    ctx.dmesg('err', memdevName(memdev), `Event log '${log}': invalid Get Event Records payload: ${d.error.message}`);
    return null;
  }
  if (d.value.recordCount === 0) return null;
  const records: DcEventRecord[] = [];
  const handles: number[] = [];
  for (const raw of d.value.records) {
    const r = decodeDcEventRecord(raw);
    if (!r.ok) {
      ctx.dmesg('err', memdevName(memdev), `Event log '${log}': bad record: ${r.error.message}`);
      continue; // no handle to clear: an undecodable header
    }
    handles.push(r.value.hdr.handle);
    records.push(r.value);
  }
  return { records, handles, overflow: (d.value.flags & 1) !== 0 };
}

function clearRecords(ctx: HostCtx, memdev: number, log: number, handles: number[]): void {
  for (let i = 0; i < handles.length; i += CLEAR_EVENT_MAX_HANDLES) {
    const part = handles.slice(i, i + CLEAR_EVENT_MAX_HANDLES);
    const buf = new Uint8Array(6 + 2 * part.length);
    encodeClearEventRecordsIn({ logType: log, flags: 0, handles: part }, buf, 0);
    const reply = cxl_internal_send_cmd(ctx, memdev, CXL_MBOX_OP.CLEAR_EVENT_RECORDS, buf);
    if (reply.rc !== 0) ctx.dmesg('err', memdevName(memdev), `Event log '${log}': Failed to clear events : ${reply.errno}`);
  }
}

/**
 * cxl_mem_get_records_log(): under event.log_lock, loop Get Event Records → trace and handle
 * each record → Clear ALL handles of the batch regardless of what the handler did (§2.1:
 * a record whose handler failed or ignored it is still consumed).
 */
export function cxl_mem_get_records_log(ctx: HostCtx, memdev: number, log: number): void {
  const m = ctx.host.memdev(memdev);
  const logLock = ctx.host.memdevs.get(m, 'logLock');
  if (ctx.knobs['parallel-event-handlers'] > 1) {
    // knob: Get + Clear under the lock, handling outside it (several handler threads at once)
    for (;;) {
      const batch = withLock(logLock, () => {
        const b = getRecords(ctx, memdev, log);
        if (b) clearRecords(ctx, memdev, log, b.handles);
        return b;
      });
      if (!batch) break;
      for (const rec of batch.records) handleRecord(ctx, memdev, rec);
    }
    return;
  }
  withLock(logLock, () => {
    for (;;) {
      const batch = getRecords(ctx, memdev, log);
      if (!batch) break;
      if (batch.overflow) ctx.dmesg('warn', memdevName(memdev), `Event log '${log}' overflowed`);
      for (const rec of batch.records) handleRecord(ctx, memdev, rec);
      clearRecords(ctx, memdev, log, batch.handles);
    }
  });
}

function handleRecord(ctx: HostCtx, memdev: number, rec: DcEventRecord): void {
  noisePoint(NOISE_SITE.dcRecord); // instrumented: one DC record about to be handled
  const e = rec.extent;
  ctx.emit({
    type: 'dc-record', memdev, eventType: rec.eventType, more: rec.flags & 1,
    dpa: u64ToNumber(e.startDpa) ?? -1, len: u64ToNumber(e.length) ?? -1, uuid: e.uuid,
    seq: e.sharedExtnSeq, hostId: rec.hostId, regionIndex: rec.eventType === 3 ? rec.updatedRegionIndex : 255, handle: rec.hdr.handle,
  });
  const m = ctx.host.memdev(memdev);
  ctx.host.memdevs.add(m, 'recordsHandled', 1);
  cxl_handle_dcd_event_records(ctx, memdev, rec);
}

/** cxl_handle_dcd_event_records(): dispatch one DC record (host-kernel.md §2.2). */
export function cxl_handle_dcd_event_records(ctx: HostCtx, memdev: number, rec: DcEventRecord): number {
  if (rec.hdr.uuid !== DC_EVENT_UUID) return 0;
  let rc: number;
  switch (rec.eventType) {
    case 0: rc = handle_add_event(ctx, memdev, rec); break;
    case 1: rc = cxl_rm_extent(ctx, memdev, rec.extent); break;
    case 2:
      ctx.dmesg('info', memdevName(memdev), 'Forced release event ignored.');
      ctx.emit({ type: 'release-outcome', memdev, dpa: u64ToNumber(rec.extent.startDpa) ?? -1, len: u64ToNumber(rec.extent.length) ?? -1, reason: 5 });
      rc = 0;
      break;
    default: rc = -ERRNO_CODE.EINVAL!; break;
  }
  if (rc) ctx.dmesg('err', memdevName(memdev), `dcd event failed: ${rc}`);
  return rc;
}
