/**
 * DOC: cxl mbox commands — the command half of the host side of the mailbox
 * (drivers/cxl/core/mbox.c: `cxl_internal_send_cmd`, `cxl_send_dc_response`, and extent.c's
 * `memdev_release_extent`). Every CXL file that sends a command imports it from here; the event
 * drain that dispatches DC records into extent.ts stays in src/cxl/mbox.ts, above extent.ts, so
 * the two do not import each other.
 *
 * Every device byte is untrusted: outputs are decoded by the callers with the bounds-checked
 * codecs of src/wire/cxl.ts. One command at a time per memdev under the memdev's mailbox mutex.
 */
import { CXL_MBOX_OP, DC_RESPONSE_FLAG_MORE, encodeDcResponse, encodeDcResponseRanges, dcResponseMaxEntries, rcErrno, rcName, u64ToNumber } from '../wire/cxl.js';
import { withLock } from '../shm/lock.js';
import type { HostCtx } from '../host/context.js';
import { ENXIO, rcOfErrno } from '../errors.js';
import { hex, MiB } from '../units.js';
import { memdevName } from './cxlmem.js';

/** A mailbox result: rc is the device return code (0 success, -1 timeout); errno per the kernel. */
export interface MboxReply {
  rc: number;
  /** errno name for rc != 0 (kernel CMD_CMD_RC_TABLE), 'OK' for success */
  errno: string;
  /** a copy of the output payload */
  out: Uint8Array;
}

const scratch = new Uint8Array(MiB);
/** the output of every command that returned none (length 0: nothing can be written into it) */
const EMPTY_OUT = new Uint8Array(0);

/**
 * cxl_internal_send_cmd(): one command, under the memdev's mailbox mutex. Returns the device's
 * return code and a copy of the output. Emits a `mbox` runtime event (the mailbox trace).
 */
export function cxl_internal_send_cmd(ctx: HostCtx, memdev: number, opcode: number, input: Uint8Array, trace?: { nrExtents: number; more: number; dpa: number; len: number }): MboxReply {
  return sendCmd(ctx, memdev, opcode, input, trace?.nrExtents ?? 0, trace?.more ?? 0, trace?.dpa ?? 0, trace?.len ?? 0);
}

/** cxl_internal_send_cmd with the trace's fields as arguments (no trace object per DC response, #17). */
function sendCmd(ctx: HostCtx, memdev: number, opcode: number, input: Uint8Array, nrExtents: number, more: number, dpa: number, len: number): MboxReply {
  const m = ctx.host.memdev(memdev);
  const lock = ctx.host.memdevs.getRef(m, ctx.host.memdevs.f.mboxLock); // per command: a ref, not a keyed lookup (#17)
  return withLock(lock, () => {
    const rf = ctx.regfile(memdev);
    const res = rf.submit(opcode, input, ctx.options.mboxTimeoutMs);
    const rc = res.rc;
    const out = res.out;
    // an empty output (Clear, Release DC, Add DC Response) shares one empty array: nothing to copy (#17)
    const copy = out.byteLength === 0 ? EMPTY_OUT : out.slice();
    ctx.emit({ type: 'mbox', memdev, opcode, rc, nrExtents, more, dpa, len });
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
 * cxl_send_dc_response() (drivers/cxl/core/mbox.c): Add DC Response or Release DC for `list`,
 * split into parts that fit the mailbox payload, More set on every part but the last. An empty list
 * sends one command with 0 entries (reject all). A mailbox error aborts the remaining parts and
 * is returned; nothing already done is rolled back (H10).
 */
export function cxl_send_dc_response(ctx: HostCtx, memdev: number, opcode: number, list: DcRange[], chain: number): number {
  const payloadSize = ctx.regfile(memdev).payloadSize;
  const max = Math.max(1, dcResponseMaxEntries(payloadSize));
  let parts = 0;
  let rc = 0;
  // each part straight from `list` (no slice, no entry objects, no closure per response, #17)
  if (list.length === 0) {
    parts++;
    rc = sendResponsePart(ctx, memdev, opcode, list, 0, 0, false, chain);
  } else {
    for (let i = 0; i < list.length && rc === 0; i += max) {
      const more = i + max < list.length;
      parts++;
      rc = sendResponsePart(ctx, memdev, opcode, list, i, more ? max : list.length - i, more, chain);
    }
  }
  if (opcode === CXL_MBOX_OP.ADD_DC_RESPONSE) {
    ctx.emit({ type: 'response', memdev, chain, nrExtents: list.length, parts, rc });
  }
  return rc === 0 ? 0 : rcOfErrno(rcErrno(rc), ENXIO);
}

/** One part of a DC response: `count` entries of `list` from `from`. Returns the device's rc. */
function sendResponsePart(ctx: HostCtx, memdev: number, opcode: number, list: DcRange[], from: number, count: number, more: boolean, chain: number): number {
  const n = encodeDcResponseRanges(more ? DC_RESPONSE_FLAG_MORE : 0, list, from, count, scratch, 0);
  // the response trace lists what goes on the wire: a part never sent (an earlier part failed)
  // lists nothing (cxl_send_dc_response returns at the first failing send_one_response)
  if (opcode === CXL_MBOX_OP.ADD_DC_RESPONSE) {
    for (let k = from; k < from + count; k++) ctx.emit({ type: 'response-extent', memdev, chain, dpa: list[k]!.dpa, len: list[k]!.len });
  }
  const first = count > 0 ? list[from] : undefined;
  return sendCmd(ctx, memdev, opcode, scratch.subarray(0, n), count, more ? 1 : 0, first?.dpa ?? 0, first?.len ?? 0).rc;
}

/**
 * memdev_release_extent() with the device's own u64s, for cxl_rm_extent's "no region" and "no
 * cxlr_dax" paths (drivers/cxl/core/extent.c at f5e075e2): v11 releases the record's range as
 * read — `dpa_range = { start, start + length - 1 }` and memdev_release_extent sends
 * `range_len()` — so a length of 0, or a start past 2^53 (no double holds it), goes to the
 * device as it came (fidelity-audit item 10). The range is ours in numbers when it can be.
 */
export function memdev_release_extent_u64(ctx: HostCtx, memdev: number, start: bigint, length: bigint): void {
  const dpa = u64ToNumber(start);
  const len = u64ToNumber(length);
  if (dpa !== null && len !== null) { memdev_release_extent(ctx, memdev, { dpa, len }); return; }
  const n = encodeDcResponse({ flags: 0, extents: [{ dpaStart: start, length }] }, scratch, 0);
  // the mailbox trace's numbers: the nearest double (a trace field, not a wire value)
  const rc = sendCmd(ctx, memdev, CXL_MBOX_OP.RELEASE_DC, scratch.subarray(0, n), 1, 0, Number(start), Number(length)).rc;
  if (ctx.dynDbg) ctx.dmesg('dbg', memdevName(memdev), `Release response dpa 0x${start.toString(16)} len 0x${length.toString(16)}${rc ? ` failed: ${rcName(rc)}` : ''}`);
}

/** memdev_release_extent(): one Release DC for one range; a failure is only logged (dev_dbg). */
export function memdev_release_extent(ctx: HostCtx, memdev: number, range: DcRange): void {
  const rc = cxl_send_dc_response(ctx, memdev, CXL_MBOX_OP.RELEASE_DC, [range], 0);
  if (!ctx.dynDbg) return; // dev_dbg off: no message built (one per released extent)
  if (rc) ctx.dmesg('dbg', memdevName(memdev), `Release response dpa ${hex(range.dpa)} len ${hex(range.len)} failed: ${rc}`);
  else ctx.dmesg('dbg', memdevName(memdev), `Release response dpa ${hex(range.dpa)} len ${hex(range.len)}`);
}
