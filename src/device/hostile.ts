/**
 * DOC: the `hostile` personality — the cxl-test rules plus a seeded generator of bad payloads.
 *
 * The host must treat every device byte as untrusted (docs/kernel-map.md); this personality is the
 * device that tests it. Two kinds of hostility:
 *
 * 1. Malformed DC Add chains queued through the FM API (`inject(kind)`, `burst(n)`), catalogued
 *    in hostile-kinds.ts: misaligned extents, u64 wrap, zero length, outside every partition,
 *    duplicate tags across memdevs (the tag is derived from the seed alone, so two memdevs with the
 *    same seed collide), gapped / duplicate / non-zero-start sequences, null tags on sharable
 *    partitions, non-zero seq on non-sharable ones, never-closing More chains, chains over 100
 *    records, overlaps with accepted extents, interleaved tags (O1), unknown event types, foreign
 *    record UUIDs. Representable extents are tracked like mock injects (so a host that wrongly
 *    accepts one gets the mock's answer); u64 wrap and zero-length ones exist only as records.
 *
 * 2. Lies in mailbox replies, chosen per seed (P(none) = 1/2 each) or pinned by
 *    `config.hostile.*` so a test can select one:
 *    - `configViolation`: a Get DC Config reply breaking one of C1–C4 (permanent);
 *    - `extentListLie`: Get DC Extent List with `returned_extent_count` beyond the payload, a total
 *      that never arrives, a generation that changes between pages, a short payload, or a u64-wrap
 *      extent (each call lies with probability `lieRate`; generation flips for the first
 *      `generationFlips` calls so a retrying host can recover);
 *    - `eventRecordLie`: Get Event Records with `record_count` beyond the payload, a short payload,
 *      handle 0, or MORE_RECORDS forever (probability `lieRate`, only when the log has records).
 */
import {
  CXL_CAPACITY_MULTIPLIER, CXL_EVENT_LOG, CXL_MBOX_OP, DC_EVENT_TYPE, GET_EVENT_FLAG_MORE_RECORDS, GET_EVENT_OUT_HDR,
  EXTENT_LIST_OUT_HDR, RC, decodeGetDcConfigIn, encodeGetDcConfigOut, type DcPartitionRaw,
} from '../wire/cxl.js';
import { Prng } from '../prng.js';
import {
  CONFIG_VIOLATIONS, EVENT_RECORD_LIES, EXTENT_LIST_LIES, PMD_SIZE,
  type ConfigViolation, type EventRecordLie, type ExtentListLie, type Personality,
} from './config.js';
import { CxlTestPersonality } from './cxl-test.js';
import type { DcExtent } from './extents.js';
import type { DeviceContext, HostileChoices, HostileHooks, MboxReply } from './personality-api.js';
import { HOSTILE_CHAIN_KINDS, type HostileChainKind } from './hostile-kinds.js';
import { fmError, type FmResult } from './types.js';

export type { HostileChoices } from './personality-api.js';

/** A tag derived from the seed alone (not the memdev name): equal seeds collide across memdevs. */
export function seedTag(seed: number | string, label: string): string {
  const r = new Prng(seed).fork(`hostile-tag/${label}`);
  const w = [r.u32(), r.u32(), r.u32(), r.u32()].map((x) => x.toString(16).padStart(8, '0')).join('');
  // Version 4 / variant bits so the tag is a well-formed UUID.
  return `${w.slice(0, 8)}-${w.slice(8, 12)}-4${w.slice(13, 16)}-a${w.slice(17, 20)}-${w.slice(20, 32)}`;
}

/** why a chain was not queued */
type Refusal = Extract<FmResult<object>, { ok: false }>;

export class HostilePersonality extends CxlTestPersonality implements HostileHooks {
  override readonly name: Personality = 'hostile';
  override readonly hostile: HostileHooks = this;
  private picks!: HostileChoices;
  private lieRng!: Prng;
  private gen!: Prng;
  private flipsLeft = 0;
  private genOffset = 0;

  constructor(dev: DeviceContext) {
    super(dev);
    this.draw();
  }

  override onReset(): void {
    this.draw();
  }

  /** Resolve 'seeded' choices from the device seed (same seed → same choices). */
  private draw(): void {
    const cfg = this.dev.config;
    const r = new Prng(cfg.seed).fork(`hostile/${cfg.name}/choices`);
    const choose = <T extends string>(opt: T | 'seeded', list: readonly T[], none: T): T => {
      const x = r.chance(0.5) ? none : r.pick(list);
      return opt === 'seeded' ? x : opt;
    };
    this.picks = {
      configViolation: choose<ConfigViolation>(cfg.hostile.configViolation, CONFIG_VIOLATIONS, 'none'),
      extentListLie: choose<ExtentListLie>(cfg.hostile.extentListLie, EXTENT_LIST_LIES, 'none'),
      eventRecordLie: choose<EventRecordLie>(cfg.hostile.eventRecordLie, EVENT_RECORD_LIES, 'none'),
    };
    this.lieRng = new Prng(cfg.seed).fork(`hostile/${cfg.name}/lies`);
    this.gen = new Prng(cfg.seed).fork(`hostile/${cfg.name}/gen`);
    this.flipsLeft = cfg.hostile.generationFlips;
    this.genOffset = 0;
  }

  choices(): HostileChoices {
    return { ...this.picks };
  }

  private noteLie(opcode: number, lie: string): void {
    this.dev.noteLie(opcode, lie);
  }

  // ----------------------------------------------------------------------------- mailbox lies

  private c4(): boolean {
    return this.picks.configViolation === 'C4-no-dc-opcodes';
  }

  override addDcResponse(input: Uint8Array): number {
    return this.c4() ? RC.UNSUPPORTED : super.addDcResponse(input);
  }

  override releaseDc(input: Uint8Array): number {
    return this.c4() ? RC.UNSUPPORTED : super.releaseDc(input);
  }

  /** Get DC Config with the chosen C1–C4 violation (a sane reply when 'none'). */
  override getDcConfig(input: Uint8Array, out: Uint8Array): MboxReply {
    const v = this.picks.configViolation;
    if (v === 'none') return super.getDcConfig(input, out);
    if (v === 'C4-no-dc-opcodes') return { rc: RC.UNSUPPORTED, outLen: 0 };
    const d = decodeGetDcConfigIn(input);
    if (!d.ok) return { rc: RC.INVALID_PAYLOAD_LENGTH, outLen: 0 };
    this.noteLie(CXL_MBOX_OP.GET_DC_CONFIG, v);
    const parts = this.partitionsRaw();
    const p0 = parts[0] as DcPartitionRaw;
    const M = BigInt(CXL_CAPACITY_MULTIPLIER);
    let avail = parts.length;
    let list: DcPartitionRaw[] = parts;
    let returned: number | null = null;
    switch (v) {
      case 'C1-too-many-returned': list = Array.from({ length: 9 }, (_, i) => ({ ...p0, base: p0.base + BigInt(i) * p0.decodeLength * M })); avail = 9; break;
      case 'C1-zero-returned': list = []; break;
      case 'C1-zero-available': list = []; avail = 0; break;
      case 'C1-short-reply': returned = parts.length + 1; break;
      case 'C2-dsmad-handle': list = [{ ...p0, dsmadHandle: 0x100 | p0.dsmadHandle }, ...parts.slice(1)]; break;
      case 'C2-overlap': list = [p0, { ...p0, base: p0.base + M }]; avail = 2; break;
      case 'C2-length-gt-size': list = [{ ...p0, length: p0.decodeLength * M + p0.blockSize }, ...parts.slice(1)]; break;
      case 'C2-length-zero': list = [{ ...p0, length: 0n }, ...parts.slice(1)]; break;
      case 'C2-length-misaligned': list = [{ ...p0, length: p0.length - 0x20n }, ...parts.slice(1)]; break;
      case 'C2-block-size': list = [{ ...p0, blockSize: 0x60n }, ...parts.slice(1)]; break;
      case 'C2-base-misaligned': list = [{ ...p0, base: p0.base + p0.blockSize }, ...parts.slice(1)]; break;
      case 'C3-skip-pmem': list = [{ ...p0, base: p0.base + M }, ...parts.slice(1)]; break;
    }
    const start = Math.min(d.value.startPartitionIndex, list.length);
    const slice = list.slice(start, start + Math.min(d.value.partitionCount, 9));
    const outLen = encodeGetDcConfigOut({ availPartitionCount: avail, partitionsReturned: returned ?? slice.length, partitions: slice, trailer: null }, out);
    return { rc: RC.SUCCESS, outLen };
  }

  override getDcExtentList(input: Uint8Array, out: Uint8Array): MboxReply {
    if (this.c4()) return { rc: RC.UNSUPPORTED, outLen: 0 };
    const reply = super.getDcExtentList(input, out);
    const lie = this.picks.extentListLie;
    if (reply.rc !== RC.SUCCESS || lie === 'none' || reply.outLen < EXTENT_LIST_OUT_HDR) return reply;
    const d = new DataView(out.buffer, out.byteOffset, reply.outLen);
    if (lie === 'generation-flip') {
      // The generation moves under the host's feet for the first `generationFlips` pages.
      if (this.flipsLeft <= 0) return reply;
      this.flipsLeft--;
      this.genOffset++;
      d.setUint32(8, (d.getUint32(8, true) + this.genOffset) >>> 0, true);
      this.noteLie(CXL_MBOX_OP.GET_DC_EXTENT_LIST, lie);
      return reply;
    }
    if (!this.lieRng.chance(this.dev.config.hostile.lieRate)) return reply;
    const returned = d.getUint32(0, true);
    switch (lie) {
      case 'count-exceeds-payload':
        d.setUint32(0, (returned + 0x10000) >>> 0, true);
        break;
      case 'total-exceeds':
        d.setUint32(4, (d.getUint32(4, true) + 1 + this.lieRng.int(1000)) >>> 0, true);
        break;
      case 'short-payload':
        this.noteLie(CXL_MBOX_OP.GET_DC_EXTENT_LIST, lie);
        return { rc: RC.SUCCESS, outLen: 8 };
      case 'u64-wrap-extent':
        if (returned === 0) return reply;
        d.setBigUint64(EXTENT_LIST_OUT_HDR, 0xffff_ffff_ffe0_0000n, true);
        d.setBigUint64(EXTENT_LIST_OUT_HDR + 8, 0x40_0000n, true);
        break;
    }
    this.noteLie(CXL_MBOX_OP.GET_DC_EXTENT_LIST, lie);
    return reply;
  }

  override transformReply(opcode: number, input: Uint8Array, out: Uint8Array, reply: MboxReply): MboxReply {
    if (opcode !== CXL_MBOX_OP.GET_EVENT_RECORDS || reply.rc !== RC.SUCCESS || reply.outLen < GET_EVENT_OUT_HDR) return reply;
    if ((input[0] ?? 0) !== CXL_EVENT_LOG.DCD) return reply;
    const lie = this.picks.eventRecordLie;
    if (lie === 'none') return reply;
    const d = new DataView(out.buffer, out.byteOffset, reply.outLen);
    const count = d.getUint16(0x14, true);
    if (count === 0 && lie !== 'more-records-forever') return reply;
    if (!this.lieRng.chance(this.dev.config.hostile.lieRate)) return reply;
    let r = reply;
    switch (lie) {
      case 'count-exceeds-payload':
        d.setUint16(0x14, count + 3, true);
        break;
      case 'short-payload':
        r = { rc: RC.SUCCESS, outLen: 0x10 };
        break;
      case 'zero-handle':
        d.setUint16(GET_EVENT_OUT_HDR + 0x14, 0, true);
        break;
      case 'more-records-forever':
        d.setUint8(0, d.getUint8(0) | GET_EVENT_FLAG_MORE_RECORDS);
        break;
    }
    this.noteLie(opcode, lie);
    return r;
  }

  // ----------------------------------------------------------------------------- generator

  private randomTag(): string {
    return seedTag(`${this.dev.config.seed}/${this.dev.name}/${this.gen.u32()}`, 'random');
  }

  /** A free, PMD-aligned spot of `length` bytes in partition 0 (seeded among fitting runs), or null. */
  private freeSpot(length: number): number | null {
    const runs = this.dev.freeRunsOf(0, Math.max(PMD_SIZE, this.dev.config.partitions[0]?.blockSize ?? PMD_SIZE)).filter((r) => r.length >= length);
    if (runs.length === 0) return null;
    return this.gen.pick(runs).dpa;
  }

  /** `n` free PMD-aligned slots of `size` bytes in partition 0 (not necessarily contiguous), or null. */
  private freeSlots(n: number, size: number): number[] | null {
    const slots: number[] = [];
    for (const r of this.dev.freeRunsOf(0, Math.max(PMD_SIZE, this.dev.config.partitions[0]?.blockSize ?? PMD_SIZE))) {
      for (let off = 0; off + size <= r.length && slots.length < n; off += size) slots.push(r.dpa + off);
      if (slots.length >= n) return slots;
    }
    return null;
  }

  /** Queue one tracked (FM-state, mock-style) Add record. */
  private tracked(dpa: number, length: number, tag: string | null, seq: number, more: boolean): void {
    const e: DcExtent = { dpa, length, tag, seq, offerSeq: 0, shared: false, group: 0 };
    this.dev.extents.addFmExtent(e);
    this.dev.queueRecord({ eventType: DC_EVENT_TYPE.ADD_CAPACITY, extent: this.dev.rawExtent(dpa, length, tag, seq), more, updatedRegionIndex: 0, offers: e });
  }

  /** Queue one untracked record with raw (possibly unrepresentable) values. */
  private raw(eventType: number, start: bigint, length: bigint, tag: string | null, seq: number, more: boolean, recordUuid?: string): void {
    this.dev.queueRecord({ eventType, extent: this.dev.rawExtent(start, length, tag, seq), more, updatedRegionIndex: 0, ...(recordUuid ? { recordUuid } : {}) });
  }

  /** Queue one malformed chain of `kind`. */
  inject(kind: HostileChainKind, opts: { count?: number } = {}): FmResult<{ records: number }> {
    const before = this.dev.queuedRecords();
    const refused = this.queueChain(kind, opts);
    if (refused) return refused;
    const records = this.dev.queuedRecords() - before;
    this.dev.emit({ type: 'hostile-chain', memdev: this.dev.name, kind, records });
    this.dev.pump();
    return { ok: true, records };
  }

  /** Queue the records of one chain, by what it breaks; a refusal when it cannot be built now. */
  private queueChain(kind: HostileChainKind, opts: { count?: number }): Refusal | null {
    switch (kind) {
      case 'misaligned': case 'u64-wrap': case 'zero-length': case 'outside-partition': case 'overlap-accepted':
        return this.queueBadExtent(kind);
      case 'dup-tag': case 'seq-gap': case 'seq-dup': case 'seq-nonzero-start': case 'null-tag-sharable': case 'nonzero-seq-nonsharable': case 'interleaved-tags':
        return this.queueBadTags(kind);
      case 'never-closing': case 'over-100':
        return this.queueOpenChain(kind, opts);
      case 'wrong-event-type': case 'bad-record-uuid':
        return this.queueBadRecord(kind);
      case 'release-zero-length': case 'release-u64':
        return this.queueBadRelease(kind);
      default:
        return fmError('EINVAL', `unknown hostile chain kind ${JSON.stringify(kind)}`);
    }
  }

  /**
   * Extents whose geometry the host must refuse: alignment, u64 wrap, zero length, outside every
   * partition, overlapping an accepted extent.
   */
  private queueBadExtent(kind: 'misaligned' | 'u64-wrap' | 'zero-length' | 'outside-partition' | 'overlap-accepted'): Refusal | null {
    const need = (n: number): number | null => this.freeSpot(n);
    const noSpace = fmError('ENOSPC', `hostile ${kind}: no free capacity for the chain`);
    const ADD = DC_EVENT_TYPE.ADD_CAPACITY;
    const bs = this.dev.config.partitions[0]?.blockSize ?? 512;
    switch (kind) {
      case 'misaligned': {
        const at = need(2 * PMD_SIZE);
        if (at === null) return noSpace;
        const skew = bs < PMD_SIZE ? bs : 4096;
        this.tracked(at + skew, PMD_SIZE, null, 0, false);
        break;
      }
      case 'u64-wrap':
        this.raw(ADD, 0xffff_ffff_ffe0_0000n, 0x40_0000n, null, 0, false);
        break;
      case 'zero-length': {
        const at = need(PMD_SIZE);
        this.raw(ADD, BigInt(at ?? this.dev.config.dcBase), 0n, null, 0, false);
        break;
      }
      case 'outside-partition': {
        const last = this.dev.config.partitions[this.dev.config.partitions.length - 1];
        const end = last ? last.base + last.decodeLength : this.dev.config.dcBase;
        this.tracked(end + CXL_CAPACITY_MULTIPLIER, PMD_SIZE, null, 0, false);
        break;
      }
      case 'overlap-accepted': {
        const acc = this.dev.extents.accepted.find((e) => e.length >= 2 * PMD_SIZE || e.dpa - PMD_SIZE >= this.dev.config.dcBase);
        if (!acc) return fmError('ENOENT', 'hostile overlap-accepted: no accepted extent to overlap');
        const start = acc.length >= 2 * PMD_SIZE ? acc.dpa + PMD_SIZE : acc.dpa - PMD_SIZE;
        if (this.dev.extents.startInUse(start)) return fmError('EEXIST', 'hostile overlap-accepted: start already in use');
        this.tracked(start, 2 * PMD_SIZE, null, 0, false);
        break;
      }
    }
    return null;
  }

  /**
   * A Release Capacity record no FM state holds (fidelity-audit item 10): a zero length beyond
   * every partition, or a start past 2^53. No region maps either, so the host's cxl_rm_extent
   * releases the range back exactly as read (X1); this device then ignores a release of nothing
   * it accepted, as the mock does.
   */
  private queueBadRelease(kind: 'release-zero-length' | 'release-u64'): Refusal | null {
    const REL = DC_EVENT_TYPE.RELEASE_CAPACITY;
    if (kind === 'release-u64') {
      this.raw(REL, (1n << 53n) + BigInt(PMD_SIZE), BigInt(PMD_SIZE), null, 0, false);
      return null;
    }
    const last = this.dev.config.partitions[this.dev.config.partitions.length - 1];
    const end = last ? last.base + last.decodeLength : this.dev.config.dcBase;
    this.raw(REL, BigInt(end + CXL_CAPACITY_MULTIPLIER), 0n, null, 0, false);
    return null;
  }

  /**
   * Tags and sequence numbers the host must refuse or keep apart: duplicate tags, bad sharable
   * sequences, a null tag / a non-zero seq on the wrong partition, interleaved tags (O1).
   */
  private queueBadTags(kind: 'dup-tag' | 'seq-gap' | 'seq-dup' | 'seq-nonzero-start' | 'null-tag-sharable' | 'nonzero-seq-nonsharable' | 'interleaved-tags'): Refusal | null {
    const need = (n: number): number | null => this.freeSpot(n);
    const noSpace = fmError('ENOSPC', `hostile ${kind}: no free capacity for the chain`);
    switch (kind) {
      case 'dup-tag': {
        const at = need(PMD_SIZE);
        if (at === null) return noSpace;
        this.tracked(at, PMD_SIZE, seedTag(this.dev.config.seed, 'dup-tag'), 0, false);
        break;
      }
      case 'seq-gap':
      case 'seq-dup':
      case 'seq-nonzero-start': {
        const seqs = kind === 'seq-gap' ? [0, 2] : kind === 'seq-dup' ? [0, 0] : [1, 2];
        const at = need(2 * PMD_SIZE);
        if (at === null) return noSpace;
        const tag = this.randomTag();
        this.tracked(at, PMD_SIZE, tag, seqs[0] as number, true);
        this.tracked(at + PMD_SIZE, PMD_SIZE, tag, seqs[1] as number, false);
        break;
      }
      case 'null-tag-sharable': {
        const at = need(PMD_SIZE);
        if (at === null) return noSpace;
        this.tracked(at, PMD_SIZE, null, 0, false);
        break;
      }
      case 'nonzero-seq-nonsharable': {
        const at = need(PMD_SIZE);
        if (at === null) return noSpace;
        this.tracked(at, PMD_SIZE, this.randomTag(), 5, false);
        break;
      }
      case 'interleaved-tags': {
        const at = need(3 * PMD_SIZE);
        if (at === null) return noSpace;
        const a = this.randomTag();
        const b = this.randomTag();
        this.tracked(at, PMD_SIZE, a, 0, true);
        this.tracked(at + PMD_SIZE, PMD_SIZE, b, 0, true);
        this.tracked(at + 2 * PMD_SIZE, PMD_SIZE, a, 0, false);
        break;
      }
    }
    return null;
  }

  /** More chains the host must bound: one that never closes (the watchdog), one over 100 records. */
  private queueOpenChain(kind: 'never-closing' | 'over-100', opts: { count?: number }): Refusal | null {
    const n = opts.count ?? (kind === 'over-100' ? 101 : 3);
    if (!Number.isInteger(n) || n < 1 || n > 4096) return fmError('EINVAL', 'count must be an integer in [1, 4096]');
    const slots = this.freeSlots(n, PMD_SIZE);
    if (slots === null) return fmError('ENOSPC', `hostile ${kind}: no free capacity for the chain`);
    slots.forEach((dpa, i) => this.tracked(dpa, PMD_SIZE, null, 0, kind === 'never-closing' || i < n - 1));
    return null;
  }

  /** Records the host must not take as DC Add: the wrong event type, a foreign record UUID. */
  private queueBadRecord(kind: 'wrong-event-type' | 'bad-record-uuid'): Refusal | null {
    const need = (n: number): number | null => this.freeSpot(n);
    const ADD = DC_EVENT_TYPE.ADD_CAPACITY;
    switch (kind) {
      case 'wrong-event-type': {
        const at = BigInt(need(PMD_SIZE) ?? this.dev.config.dcBase);
        this.raw(DC_EVENT_TYPE.ADD_CAPACITY_RESPONSE, at, BigInt(PMD_SIZE), null, 0, false);
        this.raw(DC_EVENT_TYPE.CAPACITY_RELEASED, at, BigInt(PMD_SIZE), null, 0, false);
        break;
      }
      case 'bad-record-uuid': {
        const at = BigInt(need(PMD_SIZE) ?? this.dev.config.dcBase);
        this.raw(ADD, at, BigInt(PMD_SIZE), null, 0, false, this.randomTag());
        break;
      }
    }
    return null;
  }

  /** `n` chains of kinds drawn from the seed; kinds that cannot be built right now are skipped. */
  burst(n: number): FmResult<{ records: number; kinds: HostileChainKind[] }> {
    const kinds: HostileChainKind[] = [];
    let records = 0;
    for (let i = 0; i < n; i++) {
      const kind = this.gen.pick(HOSTILE_CHAIN_KINDS);
      const r = this.inject(kind, kind === 'over-100' ? { count: 101 } : {});
      if (r.ok) {
        kinds.push(kind);
        records += r.records;
      }
    }
    return { ok: true, records, kinds };
  }
}
