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
import { CXL_MBOX_OP, DC_RESPONSE_FLAG_MORE, encodeDcResponse, dcResponseMaxEntries, rcErrno, rcName } from '../wire/cxl.js';
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
  const m = ctx.host.memdev(memdev);
  const lock = ctx.host.memdevs.get(m, 'mboxLock');
  return withLock(lock, () => {
    const rf = ctx.regfile(memdev);
    const { rc, out } = rf.submit(opcode, input, ctx.options.mboxTimeoutMs);
    // an empty output (Clear, Release DC, Add DC Response) shares one empty array: nothing to copy (#17)
    const copy = out.byteLength === 0 ? EMPTY_OUT : out.slice();
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
  const send = (entries: DcRange[], more: boolean): number => {
    const n = encodeDcResponse({ flags: more ? DC_RESPONSE_FLAG_MORE : 0, extents: entries.map((e) => ({ dpaStart: BigInt(e.dpa), length: BigInt(e.len) })) }, scratch, 0);
    parts++;
    // the response trace lists what goes on the wire: a part never sent (an earlier part failed)
    // lists nothing (cxl_send_dc_response returns at the first failing send_one_response)
    if (opcode === CXL_MBOX_OP.ADD_DC_RESPONSE) {
      for (const e of entries) ctx.emit({ type: 'response-extent', memdev, chain, dpa: e.dpa, len: e.len });
    }
    const first = entries[0];
    return cxl_internal_send_cmd(ctx, memdev, opcode, scratch.subarray(0, n), { nrExtents: entries.length, more: more ? 1 : 0, dpa: first?.dpa ?? 0, len: first?.len ?? 0 }).rc;
  };
  if (list.length === 0) {
    rc = send([], false);
  } else {
    for (let i = 0; i < list.length && rc === 0; i += max) {
      const part = i === 0 && list.length <= max ? list : list.slice(i, i + max); // one part (every Release DC): no copy
      rc = send(part, i + max < list.length);
    }
  }
  if (opcode === CXL_MBOX_OP.ADD_DC_RESPONSE) {
    ctx.emit({ type: 'response', memdev, chain, nrExtents: list.length, parts, rc });
  }
  return rc === 0 ? 0 : rcOfErrno(rcErrno(rc), ENXIO);
}

/** memdev_release_extent(): one Release DC for one range; a failure is only logged (dev_dbg). */
export function memdev_release_extent(ctx: HostCtx, memdev: number, range: DcRange): void {
  const rc = cxl_send_dc_response(ctx, memdev, CXL_MBOX_OP.RELEASE_DC, [range], 0);
  if (!ctx.dynDbg) return; // dev_dbg off: no message built (one per released extent)
  if (rc) ctx.dmesg('dbg', memdevName(memdev), `Release response dpa ${hex(range.dpa)} len ${hex(range.len)} failed: ${rc}`);
  else ctx.dmesg('dbg', memdevName(memdev), `Release response dpa ${hex(range.dpa)} len ${hex(range.len)}`);
}
