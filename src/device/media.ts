/**
 * DOC: device media — DC capacity backed by a SharedArrayBuffer at block granularity.
 *
 * Real bytes for a 12 GiB DC region would be absurd, so the media keeps, per media block (default
 * 2 MiB): a backed-bytes counter and one 64-byte "stamp line". Writing a pattern to a range stamps
 * each touched block with hash(pattern, block index); verifying recomputes the stamps and reports
 * the first bad block. That is enough to check "data written through a DAX device reads back
 * intact" and "no two live DAX devices map the same device bytes" (README.md) at any size.
 *
 * Backing follows the device's accepted list: accepting an extent adds its bytes to the counters of
 * the blocks it covers, releasing subtracts them. A block is accessible only when fully backed —
 * access to DPA not backed by an accepted extent is refused with a typed result, as QEMU's
 * `cxl_type3_hpa_to_as_and_dpa` fails with MEMTX_ERROR when `ct3_test_region_block_backed` is false
 * (R25). Counters (not flags) let extents that are not aligned to the media block share a block;
 * such a partly backed block is refused until fully backed. When a block stops being fully backed
 * its stamp is scrubbed to zero: released capacity loses its contents, so a later add of the same
 * DPA reads back as never-written.
 *
 * Threads: the device worker changes backing; user threads attach to the same buffer
 * (`Media.attach(sab)`) and write/verify through their DAX devices. Counters and stamp words are
 * accessed with Atomics. A stamp written by one thread while another verifies may be seen torn —
 * which is exactly a data race between two mappers, and is reported as a mismatch.
 */
import { hex } from '../units.js';

const MAGIC = 0x0dcd3ed1;
const HDR_BYTES = 64;
const H_MAGIC = 0;
const H_NBLOCKS = 1;
const H_BLOCK_LOG2 = 2;
/** Float64 index (8-byte units) of dcBase and dcBytes in the header */
const HF_BASE = 2;
const HF_BYTES = 3;
export const STAMP_WORDS = 16; // 64 bytes

export type MediaErrorCode = 'out-of-range' | 'unbacked' | 'mismatch' | 'bad-argument';

export interface MediaError {
  code: MediaErrorCode;
  message: string;
  /** first offending DPA (block start) */
  dpa: number;
  block: number;
}

export type MediaResult = { ok: true; blocks: number } | { ok: false; error: MediaError };

/** 32-bit finaliser (murmur3 fmix32). */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** Stamp word `w` of block `block` for `pattern`; never 0 for a written block (0 = scrubbed). */
export function stampWord(pattern: number, block: number, w: number): number {
  const h = fmix32((pattern | 0) ^ Math.imul(block + 1, 0x9e3779b1) ^ Math.imul(w + 1, 0x7feb352d));
  return h === 0 ? 1 : h;
}

export class Media {
  readonly sab: SharedArrayBuffer;
  readonly dcBase: number;
  readonly dcBytes: number;
  readonly blockSize: number;
  readonly nBlocks: number;
  private readonly backed: Int32Array;
  private readonly stamps: Int32Array;

  private constructor(sab: SharedArrayBuffer) {
    const hdr = new Int32Array(sab, 0, HDR_BYTES / 4);
    if (Atomics.load(hdr, H_MAGIC) !== MAGIC) throw new RangeError('media: buffer is not a media buffer (bad magic)');
    const f = new Float64Array(sab, 0, HDR_BYTES / 8);
    this.sab = sab;
    this.nBlocks = Atomics.load(hdr, H_NBLOCKS);
    this.blockSize = 2 ** Atomics.load(hdr, H_BLOCK_LOG2);
    this.dcBase = f[HF_BASE] ?? 0;
    this.dcBytes = f[HF_BYTES] ?? 0;
    const need = Media.bytesFor(this.nBlocks);
    if (sab.byteLength < need) throw new RangeError(`media: buffer of ${sab.byteLength} bytes, need ${need}`);
    this.backed = new Int32Array(sab, HDR_BYTES, this.nBlocks);
    this.stamps = new Int32Array(sab, Media.stampOffset(this.nBlocks), this.nBlocks * STAMP_WORDS);
  }

  private static stampOffset(nBlocks: number): number {
    return HDR_BYTES + Math.ceil((nBlocks * 4) / 64) * 64;
  }

  private static bytesFor(nBlocks: number): number {
    return Media.stampOffset(nBlocks) + nBlocks * STAMP_WORDS * 4;
  }

  /** A new, fully unbacked media for DC DPA [dcBase, dcBase + dcBytes). */
  static create(dcBase: number, dcBytes: number, blockSize: number): Media {
    if (!Number.isSafeInteger(dcBase) || dcBase < 0 || !Number.isSafeInteger(dcBytes) || dcBytes <= 0) {
      throw new RangeError(`media: bad range base=${dcBase} bytes=${dcBytes}`);
    }
    const log2 = Math.log2(blockSize);
    if (!Number.isInteger(log2) || log2 < 6 || log2 > 30) throw new RangeError(`media: block size ${blockSize} must be a power of two in [64, 1G]`);
    const nBlocks = Math.ceil(dcBytes / blockSize);
    if (nBlocks > 1 << 22) throw new RangeError(`media: ${nBlocks} blocks is too many; use a larger block size`);
    const sab = new SharedArrayBuffer(Media.bytesFor(nBlocks));
    const hdr = new Int32Array(sab, 0, HDR_BYTES / 4);
    const f = new Float64Array(sab, 0, HDR_BYTES / 8);
    f[HF_BASE] = dcBase;
    f[HF_BYTES] = dcBytes;
    hdr[H_NBLOCKS] = nBlocks;
    hdr[H_BLOCK_LOG2] = log2;
    Atomics.store(hdr, H_MAGIC, MAGIC);
    return new Media(sab);
  }

  /** Attach to a media buffer created by any thread. */
  static attach(sab: SharedArrayBuffer): Media {
    return new Media(sab);
  }

  /** Block index range [first, last] touched by [dpa, dpa+len), or an error. */
  private span(dpa: number, len: number): { first: number; last: number } | MediaError {
    if (!Number.isSafeInteger(dpa) || !Number.isSafeInteger(len) || len <= 0) {
      return { code: 'bad-argument', message: `bad range dpa=${dpa} len=${len}`, dpa, block: -1 };
    }
    if (dpa < this.dcBase || dpa + len > this.dcBase + this.dcBytes) {
      return { code: 'out-of-range', message: `[${hex(dpa)}, +${hex(len)}) is outside DC capacity [${hex(this.dcBase)}, +${hex(this.dcBytes)})`, dpa, block: -1 };
    }
    const first = Math.floor((dpa - this.dcBase) / this.blockSize);
    const last = Math.floor((dpa + len - 1 - this.dcBase) / this.blockSize);
    return { first, last };
  }

  private blockDpa(b: number): number {
    return this.dcBase + b * this.blockSize;
  }

  /** Bytes of block b's range, clipped to the DC capacity (the last block may be short). */
  private blockBytes(b: number): number {
    return Math.min(this.blockSize, this.dcBase + this.dcBytes - this.blockDpa(b));
  }

  /**
   * Add (on) or remove (off) backing for [dpa, dpa+len). Called by the device on accept and
   * release. A block that stops being fully backed is scrubbed. Out-of-range bytes are ignored
   * (the device validates ranges before accepting them).
   */
  setBacked(dpa: number, len: number, on: boolean): void {
    const lo = Math.max(dpa, this.dcBase);
    const hi = Math.min(dpa + len, this.dcBase + this.dcBytes);
    if (hi <= lo) return;
    const first = Math.floor((lo - this.dcBase) / this.blockSize);
    const last = Math.floor((hi - 1 - this.dcBase) / this.blockSize);
    for (let b = first; b <= last; b++) {
      const bStart = this.blockDpa(b);
      const overlap = Math.min(hi, bStart + this.blockSize) - Math.max(lo, bStart);
      if (on) {
        Atomics.add(this.backed, b, overlap);
      } else {
        const wasFull = Atomics.load(this.backed, b) >= this.blockBytes(b);
        const now = Atomics.sub(this.backed, b, overlap) - overlap;
        if (now < 0) Atomics.store(this.backed, b, 0);
        if (wasFull) this.scrub(b);
      }
    }
  }

  private scrub(b: number): void {
    const base = b * STAMP_WORDS;
    for (let w = 0; w < STAMP_WORDS; w++) Atomics.store(this.stamps, base + w, 0);
  }

  /** Forget all backing and contents (device reset). */
  clearAll(): void {
    for (let b = 0; b < this.nBlocks; b++) {
      Atomics.store(this.backed, b, 0);
      this.scrub(b);
    }
  }

  isBlockBacked(b: number): boolean {
    return b >= 0 && b < this.nBlocks && Atomics.load(this.backed, b) >= this.blockBytes(b);
  }

  /** True when every block touched by the range is fully backed. */
  isBacked(dpa: number, len: number): boolean {
    const s = this.span(dpa, len);
    if ('code' in s) return false;
    for (let b = s.first; b <= s.last; b++) if (!this.isBlockBacked(b)) return false;
    return true;
  }

  /** Bytes of DC capacity currently fully backed (diagnostics). */
  backedBytes(): number {
    let n = 0;
    for (let b = 0; b < this.nBlocks; b++) if (this.isBlockBacked(b)) n += this.blockBytes(b);
    return n;
  }

  private check(dpa: number, len: number): { first: number; last: number } | MediaError {
    const s = this.span(dpa, len);
    if ('code' in s) return s;
    for (let b = s.first; b <= s.last; b++) {
      if (!this.isBlockBacked(b)) {
        return { code: 'unbacked', message: `DPA ${hex(this.blockDpa(b))} is not backed by an accepted extent (MEMTX_ERROR, R25)`, dpa: this.blockDpa(b), block: b };
      }
    }
    return s;
  }

  /** Stamp every block touched by the range with `pattern`. Refused if any block is unbacked. */
  write(dpa: number, len: number, pattern: number): MediaResult {
    const s = this.check(dpa, len);
    if ('code' in s) return { ok: false, error: s };
    for (let b = s.first; b <= s.last; b++) {
      const base = b * STAMP_WORDS;
      for (let w = 0; w < STAMP_WORDS; w++) Atomics.store(this.stamps, base + w, stampWord(pattern, b, w));
    }
    return { ok: true, blocks: s.last - s.first + 1 };
  }

  /** Check every block touched by the range carries `pattern`'s stamp; reports the first bad block. */
  verify(dpa: number, len: number, pattern: number): MediaResult {
    const s = this.check(dpa, len);
    if ('code' in s) return { ok: false, error: s };
    for (let b = s.first; b <= s.last; b++) {
      const base = b * STAMP_WORDS;
      for (let w = 0; w < STAMP_WORDS; w++) {
        if (Atomics.load(this.stamps, base + w) !== stampWord(pattern, b, w)) {
          return { ok: false, error: { code: 'mismatch', message: `block at DPA ${hex(this.blockDpa(b))} does not hold pattern ${hex(pattern >>> 0)}`, dpa: this.blockDpa(b), block: b } };
        }
      }
    }
    return { ok: true, blocks: s.last - s.first + 1 };
  }
}
