/**
 * DOC: an append-only log of JSON lines in a SharedArrayBuffer, written from any thread.
 *
 * Reports that must survive the thread that wrote them (lock-order inversions, hung waits) go
 * here: a writer reserves space with one `Atomics.add` on the cursor, copies its bytes, and
 * publishes by writing the record length last. Readers parse every published record. When the
 * buffer is full further records are counted in `dropped`, never overwrite earlier ones.
 */
import { TEXTLOG_CURSOR, TEXTLOG_DROPPED, TEXTLOG_HEADER_BYTES } from './layout.js';
import { KiB } from '../units.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

export class TextLog {
  readonly sab: SharedArrayBuffer;
  private readonly hdr: Int32Array;
  private readonly bytes: Uint8Array;
  private readonly words: Int32Array;

  constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.hdr = new Int32Array(sab, 0, TEXTLOG_HEADER_BYTES / 4);
    this.bytes = new Uint8Array(sab, TEXTLOG_HEADER_BYTES);
    this.words = new Int32Array(sab, TEXTLOG_HEADER_BYTES, this.bytes.byteLength >> 2);
  }

  static create(bytes = 256 * KiB): TextLog {
    bytes = (bytes + 3) & ~3;
    return new TextLog(new SharedArrayBuffer(TEXTLOG_HEADER_BYTES + bytes));
  }

  /** Append one JSON record. Returns false (and counts a drop) when the log is full. */
  append(record: unknown): boolean {
    // a full log stays full (the cursor only grows): drop before building the line, which costs
    // microseconds (JSON, UTF-8) on every dmesg call of a long run once the log has filled
    if (Atomics.load(this.hdr, TEXTLOG_CURSOR) >= this.bytes.byteLength) {
      Atomics.add(this.hdr, TEXTLOG_DROPPED, 1);
      return false;
    }
    const body = enc.encode(JSON.stringify(record));
    const need = 4 + ((body.byteLength + 3) & ~3); // 4-byte aligned so the length word is atomic
    const at = Atomics.add(this.hdr, TEXTLOG_CURSOR, need);
    if (at + need > this.bytes.byteLength) {
      Atomics.add(this.hdr, TEXTLOG_DROPPED, 1);
      return false;
    }
    this.bytes.set(body, at + 4);
    // publish: length last, so a reader never sees a half-written body
    Atomics.store(this.words, at >> 2, body.byteLength);
    return true;
  }

  /** Every published record, in reservation order. */
  read<T = unknown>(): T[] {
    const out: T[] = [];
    const end = Math.min(Atomics.load(this.hdr, TEXTLOG_CURSOR), this.bytes.byteLength);
    let at = 0;
    while (at + 4 <= end) {
      const len = Atomics.load(this.words, at >> 2);
      if (len <= 0 || at + 4 + len > this.bytes.byteLength) break; // not yet published
      out.push(JSON.parse(dec.decode(this.bytes.slice(at + 4, at + 4 + len))) as T);
      at += 4 + ((len + 3) & ~3);
    }
    return out;
  }

  dropped(): number {
    return Atomics.load(this.hdr, TEXTLOG_DROPPED);
  }

  reset(): void {
    // only the reserved prefix was ever written (the cursor only grows; a reservation past the
    // end writes nothing): zeroing 4 MiB of dmesg per stress iteration cost ~1.8 ms
    this.bytes.fill(0, 0, Math.min(Atomics.load(this.hdr, TEXTLOG_CURSOR), this.bytes.byteLength));
    Atomics.store(this.hdr, TEXTLOG_DROPPED, 0);
    Atomics.store(this.hdr, TEXTLOG_CURSOR, 0);
  }
}
