/**
 * DOC: cxl memdev — probing a memdev's dynamic capacity (docs/kernel-map.md: Get DC Config and
 * the checks C1–C4; drivers/cxl/core/mbox.c `cxl_dev_dc_identify`, `cxl_get_dc_config`,
 * `cxl_dc_check`, `cxl_configure_dcd` in the series).
 *
 * A failed check disables DCD with a logged reason (`cxl_disable_dcd`); the memdev stays usable
 * as a ram/pmem device. Only partition 0 becomes the host's `dynamic_ram_1` partition; every
 * partition is read and validated.
 *
 * Decision (C4): the model does not read the Command Effects Log; every device personality
 * implements the four DC opcodes, and an IRQ is always available. A device that answers Get DC
 * Config with a failure (e.g. Unsupported) disables DCD through the mailbox-failure rule of C1.
 */
import {
  CXL_CAPACITY_MULTIPLIER, CXL_DCD_BLOCK_LINE_SIZE, CXL_INT_MSI_MSIX, CXL_MAX_DC_PARTITIONS, CXL_MBOX_OP, decodeGetDcConfigOut, encodeEventInterruptPolicy, encodeGetDcConfigIn,
  u64ToNumber, type DcPartitionRaw,
} from '../wire/cxl.js';
import type { HostCtx } from '../host/context.js';
import { cxl_internal_send_cmd } from './mbox-cmd.js';
import { memdevName } from './cxlmem.js';
import { isPow2 } from '../units.js';


export interface HostPartition {
  start: number;
  size: number;
  length: number;
  blockSize: number;
  handle: number;
  shareable: boolean;
}

export interface ProbeResult {
  dcdSupported: boolean;
  reason?: string;
  partitions: HostPartition[];
}


/**
 * cxl_dc_check(): per-partition validation (C2). Returns an error string or null.
 * `prev` is the previous partition in device order.
 */
export function cxl_dc_check(p: DcPartitionRaw, i: number, prev: HostPartition | null): string | HostPartition {
  if (p.dsmadHandle > 0xff) return `partition ${i}: dsmad_handle ${p.dsmadHandle} has reserved bits set (-EINVAL)`;
  const start = u64ToNumber(p.base);
  const decode = u64ToNumber(p.decodeLength);
  const length = u64ToNumber(p.length);
  const block = u64ToNumber(p.blockSize);
  if (start === null || decode === null || length === null || block === null) return `partition ${i}: a 64-bit field is beyond the model's address range (-EINVAL)`;
  const size = decode * CXL_CAPACITY_MULTIPLIER;
  if (!Number.isSafeInteger(size)) return `partition ${i}: decode_length ${decode} overflows (-EINVAL)`;
  if (prev && prev.start + prev.size > start) return `partition ${i}: start ${start} overlaps or precedes partition ${i - 1} (-EINVAL)`;
  if (block === 0 || block % CXL_DCD_BLOCK_LINE_SIZE !== 0 || !isPow2(block)) return `partition ${i}: invalid block size ${block} (-EINVAL)`;
  if (size === 0 || length === 0 || size < length || length % block !== 0) return `partition ${i}: invalid size ${size} / length ${length} (-EINVAL)`;
  if (start % CXL_CAPACITY_MULTIPLIER !== 0 || start % block !== 0) return `partition ${i}: start ${start} not aligned to 256M and the block size (-EINVAL)`;
  return { start, size, length, blockSize: block, handle: p.dsmadHandle, shareable: false };
}

/**
 * cxl_dev_dc_identify() + cxl_get_dc_config(): read every partition (C1, C2), then require
 * partition 0 to start at the end of pmem (C3). `staticBytes` is the end of the pmem partition
 * (the device's static capacity) and `sharable` the CDAT DSMAS flag of the DC partition.
 */
export function cxl_get_dc_config(ctx: HostCtx, memdev: number, staticBytes: number, sharable: boolean): ProbeResult {
  const fail = (reason: string): ProbeResult => ({ dcdSupported: false, reason, partitions: [] });
  const parts: HostPartition[] = [];
  let avail = -1;
  let start = 0;
  for (let guard = 0; guard < 16; guard++) {
    const inBuf = new Uint8Array(2);
    encodeGetDcConfigIn({ partitionCount: CXL_MAX_DC_PARTITIONS, startPartitionIndex: start }, inBuf, 0);
    const reply = cxl_internal_send_cmd(ctx, memdev, CXL_MBOX_OP.GET_DC_CONFIG, inBuf);
    if (reply.rc !== 0) return fail(`C1: Get DC Config failed (${reply.errno}, rc ${reply.rc})`);
    const d = decodeGetDcConfigOut(reply.out);
    if (!d.ok) return fail(`C1: Get DC Config reply invalid: ${d.error.message} (-EIO)`);
    const out = d.value;
    if (out.partitionsReturned > CXL_MAX_DC_PARTITIONS) return fail(`C1: partitions_returned ${out.partitionsReturned} > 8 (-EIO)`);
    avail = out.availPartitionCount;
    if (out.partitionsReturned === 0 && parts.length < avail) return fail('C1: device returned 0 partitions before all were read (-EIO)');
    for (const p of out.partitions) {
      const r = cxl_dc_check(p, parts.length, parts[parts.length - 1] ?? null);
      if (typeof r === 'string') return fail(`C2: ${r}`);
      parts.push(r);
    }
    start = parts.length;
    if (parts.length >= avail || out.partitionsReturned === 0) break;
  }
  if (parts.length < 1 || parts.length > CXL_MAX_DC_PARTITIONS) return fail(`C1: ${parts.length} partitions (need 1..8) (-EINVAL)`);
  const p0 = parts[0]!;
  if (p0.start !== staticBytes) return fail('C3: Dynamic Capacity skip from pmem not supported');
  p0.shareable = sharable;
  return { dcdSupported: true, partitions: parts };
}

/**
 * cxl_event_config_msgnums() (drivers/cxl/pci.c in the series, "cxl/mem: Configure dynamic
 * capacity interrupts"): Set Event Interrupt Policy with `dcd_settings = CXL_INT_MSI_MSIX` and the
 * 5-byte payload when DCD is supported. The memory-event settings are left as firmware has them
 * when native_cxl is false (the model's case: BIOS owns those logs), so they are sent as 0. QEMU
 * raises the DC interrupt only once this enabled it (`cmd_events_set_interrupt_policy`). v11
 * fails the probe when the command fails; the model logs it and keeps the memdev (the other logs
 * are not modelled), so a device that refuses it simply never interrupts.
 */
export function cxl_event_config_msgnums(ctx: HostCtx, memdev: number): number {
  const buf = new Uint8Array(5);
  const n = encodeEventInterruptPolicy({ info: 0, warn: 0, failure: 0, fatal: 0, dcd: CXL_INT_MSI_MSIX }, buf, 0);
  const reply = cxl_internal_send_cmd(ctx, memdev, CXL_MBOX_OP.SET_EVENT_INTERRUPT_POLICY, buf.subarray(0, n));
  if (reply.rc !== 0) ctx.dmesg('warn', memdevName(memdev), `Failed to set event interrupt policy : ${reply.errno}`);
  return reply.rc;
}

/**
 * Probe a memdev's DC support and publish partition 0 as dynamic_ram_1 in the host state.
 * Logged reason on failure; the memdev continues without DCD.
 */
export function cxl_memdev_probe_dc(ctx: HostCtx, memdev: number, staticBytes: number, sharable: boolean): ProbeResult {
  const r = cxl_get_dc_config(ctx, memdev, staticBytes, sharable);
  const t = ctx.host.memdevs;
  const m = ctx.host.memdev(memdev);
  if (!r.dcdSupported) {
    ctx.dmesg('warn', memdevName(memdev), `DCD disabled: ${r.reason}`);
    t.store(m, 'dcdSupported', 0);
    return r;
  }
  const p0 = r.partitions[0]!;
  t.set(m, 'partBase', p0.start);
  t.set(m, 'partSize', p0.size);
  t.set(m, 'partLength', p0.length);
  t.set(m, 'blockSize', p0.blockSize);
  t.set(m, 'shareable', p0.shareable ? 1 : 0);
  t.store(m, 'dcdSupported', 1);
  ctx.dmesg('info', memdevName(memdev), `dynamic_ram_1: ${p0.size} bytes at DPA 0x${p0.start.toString(16)}${p0.shareable ? ' (sharable)' : ''}`);
  cxl_event_config_msgnums(ctx, memdev); // cxl_pci_probe → cxl_event_config, after the DC config is read
  return r;
}
