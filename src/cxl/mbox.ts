/**
 * DOC: cxl mbox — the event-log drain and DC record dispatch (drivers/cxl/core/mbox.c in the
 * series; docs/kernel-map.md, §2.2, §2.7). The commands it sends (`cxl_internal_send_cmd`,
 * `cxl_send_dc_response`) are in src/cxl/mbox-cmd.ts, below extent.ts, which the drain calls.
 * The existing-extent scan (`cxl_region_add_existing_extents`, `__cxl_process_extent_list`, the
 * crash recovery the cxl_dax_region probe runs) is here too, at the end: like the drain it reads
 * the device and stages into extent.ts.
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
  CLEAR_EVENT_HDR, CLEAR_EVENT_MAX_HANDLES, CXL_EVENT_LOG, CXL_MBOX_OP, DC_EVENT_TYPE, DC_EVENT_UUID,
  EVENT_RECORD_SIZE, GET_EVENT_OUT_HDR, decodeDcEventRecord, decodeEventRecordHeader, encodeClearEventRecordsIn,
  encodeGetEventRecordsIn, u64ToNumber, type DcEventRecord, uuidFromBytes, uuidToBytes,
  decodeGetDcExtentListOut, EXTENT_LIST_OUT_HDR, EXTENT_SIZE, encodeGetDcExtentListIn,
} from '../wire/cxl.js';
import { EVENT_STATUS_DCD } from '../shm/layout.js';
import { assertHeld, noisePoint, withLock } from '../shm/lock.js';
import { NO_HANDLE, type Handle } from '../shm/table.js';
import { NOISE_SITE } from '../shm/sched.js';
import type { HostCtx } from '../host/context.js';
import { RELEASE_REASON } from '../protocol.js';
import { cxl_internal_send_cmd } from './mbox-cmd.js';
import { cxl_add_pending, clear_pending_extents, cxl_rm_extent, handle_add_event, pending_extents_nonempty, stage_extent } from './extent.js';
import { EAGAIN, EINVAL, EIO, ENOMEM, ENXIO, rcOfErrno } from '../errors.js';
import { memdevName } from './cxlmem.js';

// ----------------------------------------------------------------------------- event drain

/**
 * cxl_event_thread(): the threaded IRQ handler body — re-read Event Status and drain until it
 * reads clear (drivers/cxl/pci.c `cxl_event_thread`). Only the DC log is modelled (BIOS owns the
 * others when native_cxl is false; with it true they would be drained after DCD and are empty
 * here). In v11 `cxl_mem_get_event_records` returns nothing, so a drain that broke out (a failed
 * Get or Clear) leaves the status bit set and this loop drains again at once: a device that keeps
 * failing the Clear keeps the thread spinning (the stored post-v11 copy of pci.c breaks out of
 * the loop on a failed drain for exactly that reason; docs/kernel-map.md).
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
  if (ctx.host.memdevs.getRef(m, ctx.host.memdevs.f.dcdSupported) && status & EVENT_STATUS_DCD) {
    cxl_mem_get_records_log(ctx, memdev, CXL_EVENT_LOG.DCD);
  }
}

/**
 * mds->event.buf (drivers/cxl/pci.c `cxl_mem_alloc_event_buf`): ONE buffer of payload_size bytes
 * per memdev, reused by every Get Event Records of every log under event.log_lock. Its bytes
 * outlive a Get: a reply shorter than `record_count` claims leaves the tail of the previous,
 * longer reply in place, and v11 reads it as records (see cxl_mem_get_records_log). kvmalloc does
 * not zero it; the model starts it zeroed (a zero record has a null UUID and handle 0). One per
 * memdev per thread: with `parallel-event-handlers=N` each handler thread has its own (the knob's
 * hypothetical; v11 has one thread per memdev).
 */
const eventBufs = new Map<number, { buf: Uint8Array; boot: number }>();
function eventBuf(ctx: HostCtx, memdev: number): Uint8Array {
  const b = eventBufs.get(memdev);
  const size = ctx.regfile(memdev).payloadSize;
  // allocated at probe (cxl_event_config): an in-place reset of the topology is a new boot
  const boot = ctx.host.memdevs.load(ctx.host.memdev(memdev), 'bootGen');
  if (b && b.buf.byteLength === size && b.boot === boot) return b.buf;
  const buf = new Uint8Array(size);
  eventBufs.set(memdev, { buf, boot });
  return buf;
}

const EVENT_FLAG_OVERFLOW = 1;

/**
 * One Get Event Records into the memdev's event buffer, as `cxl_mem_get_records_log` issues it
 * (`.payload_out = mds->event.buf`, `.min_out = struct_size(payload, records, 0)`): the reply
 * overwrites only its own bytes (`__cxl_pci_mbox_send_cmd` copies min(size_out, payload_size,
 * out_len)); a reply shorter than the 0x20-byte header is -EIO (`cxl_internal_send_cmd`).
 * Returns `record_count` as written (v11 trusts it), or a negative errno.
 */
function getRecordsInto(ctx: HostCtx, memdev: number, log: number, buf: Uint8Array): number {
  const inBuf = getInBuf; // the mailbox copies the input into its payload: one buffer serves every Get
  encodeGetEventRecordsIn({ logType: log }, inBuf, 0);
  const reply = cxl_internal_send_cmd(ctx, memdev, CXL_MBOX_OP.GET_EVENT_RECORDS, inBuf);
  let rc = 0;
  if (reply.rc !== 0) rc = rcOfErrno(reply.errno, ENXIO);
  else if (reply.out.byteLength < GET_EVENT_OUT_HDR) rc = EIO;
  if (rc) {
    ctx.dmesg('err', memdevName(memdev), `Event log '${log}': Failed to query event records : ${rc}`);
    return rc;
  }
  buf.set(reply.out.subarray(0, Math.min(reply.out.byteLength, buf.byteLength)), 0);
  return buf[0x14]! | (buf[0x15]! << 8); // record_count, le16 (no DataView per Get, #17)
}
const getInBuf = new Uint8Array(1);

/**
 * `&payload->records[i]` of the event buffer. v11 indexes the buffer by the trusted count; a
 * record past the end of the kvmalloc'd buffer is an out-of-bounds read in the kernel (KASAN:
 * slab-out-of-bounds). The model logs it and reads zeros there (a null-UUID record, handle 0).
 */
function recordAt(ctx: HostCtx, memdev: number, buf: Uint8Array, i: number): Uint8Array {
  const off = GET_EVENT_OUT_HDR + i * EVENT_RECORD_SIZE;
  if (off + EVENT_RECORD_SIZE <= buf.byteLength) return buf.subarray(off, off + EVENT_RECORD_SIZE);
  ctx.dmesg('err', memdevName(memdev), `BUG: KASAN: slab-out-of-bounds in cxl_mem_get_records_log: record ${i} at offset ${off} of a ${buf.byteLength}-byte event buffer (record_count trusted)`);
  return new Uint8Array(EVENT_RECORD_SIZE);
}

/**
 * cxl_clear_event_record() (drivers/cxl/core/mbox.c): the handle of EVERY one of the `total`
 * records the Get reported (`record_count`), whatever its UUID or how its handler fared, in
 * batches of at most CXL_CLEAR_EVENT_MAX_HANDLES (fewer when the payload is smaller). The first
 * failing batch ends it: its errno is returned and later batches are not sent.
 */
export function cxl_clear_event_record(ctx: HostCtx, memdev: number, log: number, handles: number[]): number {
  const payloadSize = ctx.regfile(memdev).payloadSize;
  let max = CLEAR_EVENT_MAX_HANDLES;
  if (CLEAR_EVENT_HDR + 2 * max > payloadSize) max = Math.floor((payloadSize - CLEAR_EVENT_HDR) / 2);
  for (let i = 0; i < handles.length; i += max) {
    const part = i === 0 && handles.length <= max ? handles : handles.slice(i, i + max);
    // encoded into a reused buffer (the mailbox copies its input into the payload): no buffer per Clear (#17)
    const len = CLEAR_EVENT_HDR + 2 * part.length;
    if (clearBuf.byteLength < len) clearBuf = new Uint8Array(Math.max(len, 2 * clearBuf.byteLength));
    const buf = clearBuf.subarray(0, len);
    encodeClearEventRecordsIn({ logType: log, flags: 0, handles: part }, buf, 0);
    const reply = cxl_internal_send_cmd(ctx, memdev, CXL_MBOX_OP.CLEAR_EVENT_RECORDS, buf);
    if (reply.rc !== 0) return rcOfErrno(reply.errno, ENXIO);
  }
  return 0;
}

let clearBuf = new Uint8Array(CLEAR_EVENT_HDR + 2 * 16);

/** The header handle of every record `record_count` names (cxl_clear_event_record's walk). */
function batchHandles(ctx: HostCtx, memdev: number, buf: Uint8Array, total: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < total; i++) {
    const r = recordAt(ctx, memdev, buf, i);
    out.push(r[0x14]! | (r[0x15]! << 8));
  }
  return out;
}

/**
 * cxl_mem_get_records_log() (drivers/cxl/core/mbox.c), as written: under event.log_lock, loop
 * Get Event Records into the event buffer → for each of `record_count` records (trusted, never
 * checked against the reply's size) trace it and, on the DCD log, hand it to
 * cxl_handle_dcd_event_records (which ignores a foreign UUID) → Clear the handles of ALL of them
 * → again, until a Get reports 0 records. A failed Get or Clear `break`s out of the drain; the
 * status bit stays set and cxl_event_thread drains again.
 */
export function cxl_mem_get_records_log(ctx: HostCtx, memdev: number, log: number): void {
  const m = ctx.host.memdev(memdev);
  const logLock = ctx.host.memdevs.getRef(m, ctx.host.memdevs.f.logLock);
  const buf = eventBuf(ctx, memdev);
  if (ctx.knobs['parallel-event-handlers'] > 1) {
    // knob: Get + Clear under the lock, handling outside it (several handler threads at once);
    // the batch is copied out of the buffer before the lock is dropped
    for (;;) {
      const batch = withLock(logLock, (): Uint8Array[] | null => {
        const nr = getRecordsInto(ctx, memdev, log, buf);
        if (nr <= 0) return null;
        const recs: Uint8Array[] = [];
        for (let i = 0; i < nr; i++) recs.push(recordAt(ctx, memdev, buf, i).slice());
        const rc = cxl_clear_event_record(ctx, memdev, log, batchHandles(ctx, memdev, buf, nr));
        if (rc) {
          ctx.dmesg('err', memdevName(memdev), `Event log '${log}': Failed to clear events : ${rc}`);
          return null; // the handling below is skipped: the knob's drain ends with the failure
        }
        return recs;
      });
      if (!batch) break;
      for (const raw of batch) dispatchRecord(ctx, memdev, log, raw);
    }
    return;
  }
  withLock(logLock, () => {
    for (;;) {
      const nr = getRecordsInto(ctx, memdev, log, buf);
      if (nr <= 0) break;
      for (let i = 0; i < nr; i++) dispatchRecord(ctx, memdev, log, recordAt(ctx, memdev, buf, i));
      if (buf[0]! & EVENT_FLAG_OVERFLOW) ctx.dmesg('warn', memdevName(memdev), `Event log '${log}' overflowed`);
      const rc = cxl_clear_event_record(ctx, memdev, log, batchHandles(ctx, memdev, buf, nr));
      if (rc) {
        ctx.dmesg('err', memdevName(memdev), `Event log '${log}': Failed to clear events : ${rc}`);
        break;
      }
    }
  });
}

/**
 * The loop body for one record: `__cxl_event_trace_record` (a non-DC UUID is traced as a generic
 * event: a dmesg line here, no `dc-record` event) then, on the DCD log,
 * cxl_handle_dcd_event_records, whose first act is to return on a UUID that is not the DC event
 * UUID.
 */
function dispatchRecord(ctx: HostCtx, memdev: number, log: number, raw: Uint8Array): void {
  // a DC record's header is decoded once, by decodeDcEventRecord below: its UUID is recognised
  // by its 16 bytes here (#17; the same test as the decoded string's, DC_EVENT_UUID_BYTES)
  if (!isDcEventUuid(raw)) dispatchOther(ctx, memdev, log, raw);
  else dispatchDc(ctx, memdev, log, raw);
}

/** A record whose UUID bytes are not DC_EVENT_UUID's: decoded to be traced (see dispatchRecord). */
function dispatchOther(ctx: HostCtx, memdev: number, log: number, raw: Uint8Array): void {
  const hdr = decodeEventRecordHeader(raw, 0);
  if (!hdr.ok) return; // unreachable: raw is always 128 bytes
  if (hdr.value.uuid === DC_EVENT_UUID) { dispatchDc(ctx, memdev, log, raw); return; } // (unreachable: the bytes differ)
  ctx.dmesg('dbg', memdevName(memdev), `Event log '${log}': generic event uuid ${hdr.value.uuid} handle ${hdr.value.handle}: not a DC event, ignored`);
}

function dispatchDc(ctx: HostCtx, memdev: number, log: number, raw: Uint8Array): void {
  if (log !== CXL_EVENT_LOG.DCD) return;
  const r = decodeDcEventRecord(raw, 0);
  if (!r.ok) return; // unreachable: the UUID was checked, and 128 bytes are present
  handleRecord(ctx, memdev, r.value);
}

/** DC_EVENT_UUID as the 16 bytes a record header carries (uuidToBytes: the inverse of uuidFromBytes) */
const DC_EVENT_UUID_BYTES = new Uint8Array(16);
uuidToBytes(DC_EVENT_UUID, DC_EVENT_UUID_BYTES, 0);
if (uuidFromBytes(DC_EVENT_UUID_BYTES, 0) !== DC_EVENT_UUID) throw new Error('DC_EVENT_UUID is not in canonical form');
function isDcEventUuid(raw: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (raw[i] !== DC_EVENT_UUID_BYTES[i]) return false;
  return true;
}

function handleRecord(ctx: HostCtx, memdev: number, rec: DcEventRecord): void {
  noisePoint(NOISE_SITE.dcRecord); // instrumented: one DC record about to be handled
  const e = rec.extent;
  ctx.emit({
    type: 'dc-record', memdev, eventType: rec.eventType, more: rec.flags & 1,
    dpa: u64ToNumber(e.startDpa) ?? -1, len: u64ToNumber(e.length) ?? -1, uuid: e.uuid,
    seq: e.sharedExtnSeq, hostId: rec.hostId, regionIndex: rec.eventType === DC_EVENT_TYPE.REGION_CONFIGURATION_UPDATED ? rec.updatedRegionIndex : 255, handle: rec.hdr.handle,
  });
  const m = ctx.host.memdev(memdev);
  ctx.host.memdevs.addRef(m, ctx.host.memdevs.f.recordsHandled, 1); // per record: a ref (#17)
  cxl_handle_dcd_event_records(ctx, memdev, rec);
}

/**
 * cxl_handle_dcd_event_records() (drivers/cxl/core/mbox.c): dispatch one DC record by event type;
 * a record whose UUID is not the DC event UUID is ignored (its handle is still cleared).
 */
export function cxl_handle_dcd_event_records(ctx: HostCtx, memdev: number, rec: DcEventRecord): number {
  if (rec.hdr.uuid !== DC_EVENT_UUID) return 0;
  let rc: number;
  switch (rec.eventType) {
    case DC_EVENT_TYPE.ADD_CAPACITY: rc = handle_add_event(ctx, memdev, rec); break;
    case DC_EVENT_TYPE.RELEASE_CAPACITY: rc = cxl_rm_extent(ctx, memdev, rec.extent); break;
    case DC_EVENT_TYPE.FORCED_CAPACITY_RELEASE:
      ctx.dmesg('info', memdevName(memdev), 'Forced release event ignored.');
      ctx.emit({ type: 'release-outcome', memdev, dpa: u64ToNumber(rec.extent.startDpa) ?? -1, len: u64ToNumber(rec.extent.length) ?? -1, reason: RELEASE_REASON.forcedIgnored });
      rc = 0;
      break;
    default: rc = EINVAL; break;
  }
  if (rc) ctx.dmesg('err', memdevName(memdev), `dcd event failed: ${rc}`);
  return rc;
}

// ------------------------------------------------------------------------------ recovery (moved from region.ts)

export const CXL_READ_EXTENT_LIST_RETRY = 10;

/**
 * cxl_region_add_existing_extents(): in cxl_dax_region_probe with device_lock(cxlr_dax) held.
 * Reads the device's whole accepted list (every region's extents, each resolved to its own
 * region) and realizes them with existing=true — never acknowledged. Publishes extents_scanned
 * (store-release) only when every target succeeded.
 */
export function cxl_region_add_existing_extents(ctx: HostCtx, r: Handle): { rc: number; attempts: number; found: number } {
  const h = ctx.host;
  assertHeld(h.regionLockFor(r));
  const memdev = h.regions.get(r, 'memdev');
  let rc = 0;
  let attempts = 0;
  let found = 0;
  for (attempts = 1; attempts <= CXL_READ_EXTENT_LIST_RETRY; attempts++) {
    const res = __cxl_process_extent_list(ctx, memdev);
    rc = res.rc;
    found = res.found;
    if (rc !== EAGAIN) break;
  }
  attempts = Math.min(attempts, CXL_READ_EXTENT_LIST_RETRY);
  // the event precedes the store-release, so no runtime add can be tracked between flag and event
  ctx.emit({ type: 'scan-done', region: r, rc, attempts, found });
  if (rc === 0) h.regions.store(r, 'extentsScanned', 1);
  return { rc, attempts, found };
}

/** __cxl_process_extent_list(): one paged read of Get DC Extent List under add_ctx.lock. */
export function __cxl_process_extent_list(ctx: HostCtx, memdev: number): { rc: number; found: number } {
  const h = ctx.host;
  const m = h.memdev(memdev);
  return withLock(h.memdevs.get(m, 'addLock'), () => {
    const per = Math.floor((ctx.regfile(memdev).payloadSize - EXTENT_LIST_OUT_HDR) / EXTENT_SIZE);
    let idx = 0;
    let read = 0;
    let expected = -1;
    let gen0 = -1;
    let rc = 0;
    try {
      do {
        const inBuf = new Uint8Array(8);
        encodeGetDcExtentListIn({ extentCount: per, startExtentIndex: idx }, inBuf, 0);
        const reply = cxl_internal_send_cmd(ctx, memdev, CXL_MBOX_OP.GET_DC_EXTENT_LIST, inBuf);
        if (reply.rc !== 0) { rc = rcOfErrno(reply.errno, ENXIO); break; }
        // v11 does not check returned_extent_count against the buffer (SK-27: min_out = 1); the
        // model's decoder does, and a lying count becomes -EIO instead of an out-of-bounds read.
        const d = decodeGetDcExtentListOut(reply.out);
        if (!d.ok) { ctx.dmesg('err', memdevName(memdev), `Get DC Extent List: ${d.error.message}`); rc = EIO; break; }
        const out = d.value;
        if (expected < 0) { expected = out.totalExtentCount; gen0 = out.generationNum; }
        if (out.generationNum !== gen0 || out.totalExtentCount !== expected) { rc = EAGAIN; break; }
        if (out.returnedExtentCount === 0 && expected > read) { rc = EIO; break; }
        for (const e of out.extents) {
          if (stage_extent(ctx, memdev, e) === NO_HANDLE) { rc = ENOMEM; break; } // no 100 cap here
        }
        if (rc) break;
        read += out.returnedExtentCount;
        idx += out.returnedExtentCount;
      } while (expected > read);
      // v11 (__cxl_process_extent_list, drivers/cxl/core/mbox.c) tests the LIST, not what was
      // read: a runtime More=1 chain staged on the same list is realized here as existing and
      // never acknowledged, even when the device returned 0 extents (an H2 variant)
      if (rc === 0 && pending_extents_nonempty(ctx, memdev)) cxl_add_pending(ctx, memdev, true);
    } finally {
      clear_pending_extents(ctx, memdev);
    }
    return { rc, found: read };
  });
}
