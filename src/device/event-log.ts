/**
 * DOC: the device's Dynamic Capacity event log (log type 4).
 *
 * A fixed-capacity FIFO of 128-byte records, copying cxl_test's `struct mock_event_log` and QEMU's
 * `CXLEventLog`:
 *  - handles are 1-based and never 0 ("Handle can never be 0", mock; R9 treats handle 0 as
 *    invalid); they increase by one per record and wrap from 0xFFFF to 1. Capacity ≤ 4096 keeps
 *    every live handle unique;
 *  - a record that arrives while the log is full is dropped: `overflow` is bumped and the first
 *    and last overflow timestamps recorded (R8, mock 12). Get Event Records then reports OVERFLOW.
 *    A successful Clear resets the overflow state (the mock's `if (log->nr_overflow)
 *    log->nr_overflow = 0`);
 *  - `get(limit)` returns up to `limit` records from the head without consuming them; MORE_RECORDS
 *    is set when records remain beyond the batch;
 *  - `clear(handles)` must name the head records in order (R9, mock 12): on any mismatch nothing
 *    is cleared.
 *
 * The Event Status bit is derived (`count > 0`); the device mirrors it into the register file.
 */

export interface LoggedRecord {
  handle: number;
  /** the 128-byte record image, handle and timestamp already stamped */
  bytes: Uint8Array;
}

export type ClearResult =
  | { ok: true; cleared: LoggedRecord[] }
  | { ok: false; reason: 'handle-zero' | 'out-of-order' | 'too-many' };

export class EventLog {
  readonly capacity: number;
  private records: LoggedRecord[] = [];
  private nextHandle = 1;
  overflow = 0;
  firstOverflowTs = 0n;
  lastOverflowTs = 0n;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get count(): number {
    return this.records.length;
  }

  get full(): boolean {
    return this.records.length >= this.capacity;
  }

  get room(): number {
    return this.capacity - this.records.length;
  }

  reset(): void {
    this.records = [];
    this.nextHandle = 1;
    this.overflow = 0;
    this.firstOverflowTs = 0n;
    this.lastOverflowTs = 0n;
  }

  /**
   * Append a record (mock `mes_add_event`, QEMU `cxl_event_insert`). Stamps the handle (0x14) and
   * timestamp (0x18) into the image. Returns the handle, or null when the record was dropped
   * because the log is full (overflow counted).
   */
  add(bytes: Uint8Array, now: bigint): { handle: number; wasEmpty: boolean } | null {
    if (this.full) {
      if (this.overflow === 0) this.firstOverflowTs = now;
      this.lastOverflowTs = now;
      this.overflow = Math.min(this.overflow + 1, 0xffff);
      return null;
    }
    const handle = this.nextHandle;
    this.nextHandle = this.nextHandle >= 0xffff ? 1 : this.nextHandle + 1;
    const d = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    d.setUint16(0x14, handle, true);
    d.setBigUint64(0x18, BigInt.asUintN(64, now), true);
    const wasEmpty = this.records.length === 0;
    this.records.push({ handle, bytes });
    return { handle, wasEmpty };
  }

  /** Up to `limit` head records (not consumed) and whether more remain. */
  get(limit: number): { records: LoggedRecord[]; more: boolean } {
    const n = Math.max(0, Math.min(limit, this.records.length));
    return { records: this.records.slice(0, n), more: this.records.length > n };
  }

  /** Clear the head records named by `handles`, in order; all-or-nothing (R9, mock 12). */
  clear(handles: readonly number[]): ClearResult {
    if (handles.length > this.records.length) return { ok: false, reason: 'too-many' };
    for (let i = 0; i < handles.length; i++) {
      const h = handles[i] as number;
      if (h === 0) return { ok: false, reason: 'handle-zero' };
      if ((this.records[i] as LoggedRecord).handle !== h) return { ok: false, reason: 'out-of-order' };
    }
    const cleared = this.records.splice(0, handles.length);
    if (cleared.length > 0) this.clearOverflow();
    return { ok: true, cleared };
  }

  /** Clear Event Records with the Clear All flag. */
  clearAll(): LoggedRecord[] {
    const cleared = this.records;
    this.records = [];
    this.clearOverflow();
    return cleared;
  }

  private clearOverflow(): void {
    this.overflow = 0;
    this.firstOverflowTs = 0n;
    this.lastOverflowTs = 0n;
  }

  /** Snapshot of the queued records (diagnostics). */
  snapshot(): readonly LoggedRecord[] {
    return this.records;
  }
}
