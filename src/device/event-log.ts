/**
 * DOC: the device's Dynamic Capacity event log (log type 4).
 *
 * A fixed-capacity FIFO of 128-byte records, copying cxl_test's `struct mock_event_log` and QEMU's
 * `CXLEventLog`:
 *  - handles are 1-based and never 0. QEMU (hw/cxl/cxl-events.c `cxl_event_insert`): a u16
 *    `next_handle` that skips 0, so 1..0xFFFF. The mock (tools/testing/cxl/test/mem.c
 *    `event_inc_handle`): the handle IS the slot index of a ring of capacity + 2 slots with slot
 *    0 unused, so handles run 1..capacity+1 (1..16 for the 15-record log). Either way every live
 *    handle is unique;
 *  - a record that arrives while the log is full is dropped: `overflow` is bumped and the first
 *    and last overflow timestamps recorded (R8, mock 12). Get Event Records then reports OVERFLOW;
 *  - `get(limit)` returns up to `limit` records from the head without consuming them;
 *  - `clear(handles, rule)` checks the handles against the head records in order, for as many
 *    handles as there are records: QEMU `cxl_event_clear_records` and mock `mock_clear_event`
 *    both stop at the end of the log, so extra handles are ignored and a Clear of an empty log
 *    succeeds. Handle 0 never matches (QEMU checks it explicitly, the mock's ring never stores
 *    it). On a mismatch nothing is cleared. Overflow: QEMU resets it per record it deletes
 *    (`cxl_event_delete_head` → `reset_overflow`); the mock resets it on every successful Clear,
 *    even one that clears nothing (`if (log->nr_overflow) log->nr_overflow = 0`). Neither reads
 *    `clear_flags`, so Clear All is ignored.
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
  | { ok: false; reason: 'handle-zero' | 'out-of-order' };

/** Whose Clear Event Records rule applies to the overflow counter (see DOC). */
export type ClearRule = 'qemu' | 'mock';

export class EventLog {
  readonly capacity: number;
  /** largest handle before the wrap to 1 */
  readonly handleMax: number;
  private records: LoggedRecord[] = [];
  private nextHandle = 1;
  overflow = 0;
  firstOverflowTs = 0n;
  lastOverflowTs = 0n;

  constructor(capacity: number, handleMax = 0xffff) {
    if (handleMax < capacity) throw new RangeError(`event log: handleMax ${handleMax} < capacity ${capacity} would reuse live handles`);
    this.capacity = capacity;
    this.handleMax = handleMax;
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
    this.nextHandle = this.nextHandle >= this.handleMax ? 1 : this.nextHandle + 1;
    const d = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    d.setUint16(0x14, handle, true);
    d.setBigUint64(0x18, BigInt.asUintN(64, now), true);
    const wasEmpty = this.records.length === 0;
    this.records.push({ handle, bytes });
    return { handle, wasEmpty };
  }

  /**
   * Up to `limit` head records (not consumed). `remaining`: records remain beyond the batch (the
   * mock's MORE_RECORDS rule); `nonEmpty`: the log holds any record (QEMU's rule).
   */
  get(limit: number): { records: LoggedRecord[]; remaining: boolean; nonEmpty: boolean } {
    const n = Math.max(0, Math.min(limit, this.records.length));
    return { records: this.records.slice(0, n), remaining: this.records.length > n, nonEmpty: this.records.length > 0 };
  }

  /** Clear the head records named by `handles`, in order; all-or-nothing (R9, mock 12; see DOC). */
  clear(handles: readonly number[], rule: ClearRule): ClearResult {
    const n = Math.min(handles.length, this.records.length);
    for (let i = 0; i < n; i++) {
      const h = handles[i] as number;
      if (h === 0) return { ok: false, reason: 'handle-zero' };
      if ((this.records[i] as LoggedRecord).handle !== h) return { ok: false, reason: 'out-of-order' };
    }
    const cleared = this.records.splice(0, n);
    if (rule === 'mock' || cleared.length > 0) this.clearOverflow();
    return { ok: true, cleared };
  }

  /** Is a record with this handle in the log? */
  has(handle: number): boolean {
    return this.records.some((r) => r.handle === handle);
  }

  /**
   * Empty the log and its overflow state. Not a mailbox path — neither reference device honours
   * the Clear All flag (see DOC) — but a local host stand-in (bench/device.ts) uses it.
   */
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
