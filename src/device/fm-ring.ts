/**
 * DOC: the FM command ring — the fabric manager's hot calls to one device through shared memory
 * (issue #17, point 2).
 *
 * Over comlink an FM call is a postMessage the device worker reads in its event loop, so the
 * device has to keep its event loop awake (`waitCommandAsync`) to see one; a futex wake cannot
 * announce it, because the wake may arrive before the message is readable (docs/performance.md,
 * "Tried and not kept"). Here the request itself is in a SharedArrayBuffer ring, so the device can
 * sleep synchronously on its doorbell word for both: the host's mailbox submit notifies that word,
 * and so does an FM producer that finds the device asleep (`FM_CTL_SLEEPING`). The one window a
 * wake can be lost in (between the device's last look at the ring and its futex wait) is bounded
 * by the sleep slice (`FM_SLEEP_SLICE_MS`).
 *
 * Only `injectRecords` and prescriptive `releaseCapacity` — the bench's hot calls — travel here;
 * everything else stays on comlink. The ring is off until a client attaches (`FM_CTL_ACTIVE`), so
 * a system that never uses it keeps the event-loop wait. Free-running only: a ring call is not a
 * step of the controlled scheduler's log (service.ts `startDeviceWorker` records comlink FM calls).
 *
 * The FM's side sleeps too (eighth session): every reply bumps a reply bell — one word shared by
 * all the FM rings of a system — and notifies it when the FM said it waits there
 * (`waitFmReplies`). A cxl-test FM call is answered after the host's drain of its records (the
 * mock's sysfs write returns then, service.ts DOC), so an FM that sleeps on the bell learns that
 * its chain was answered, or released, when the device next yields after the drain — where a
 * driver polling on a timer learned it up to a nap later. The bell's value changes with every reply, so a reply
 * between the FM's look at its reply rings and its wait is never lost.
 *
 * Layout: requests are 12-word records, a header `[seq, op, count, policy]` then `count` entries
 * `[offset f64, length f64, flags (bit 0 tag present, bit 1 more), tag (16 bytes), seq]`; replies
 * are 4-word records `[seq, ok, errno code, 0]` (an error's message stays on the device: the reply names
 * the call, the device counts it in `fmErrors`).
 */
import { SpscRing } from '../shm/ring.js';
import { REG_DOORBELL } from '../shm/layout.js';
import { uuidFromBytes, uuidToBytes } from '../wire/cxl.js';
import { ERRNO_CODES, ERRNO_NAME } from '../errors.js';
import { fmError, isFmErrorCode, type AddCapacityOk, type FmErrorCode, type FmResult, type InjectRecord, type ReleaseCapacityOk, type ReleaseCapacityRequest } from './types.js';

export const FM_REQ_WORDS = 12;
export const FM_REP_WORDS = 4;
export const FM_RING_CAPACITY = 1024;
export const FM_OP_INJECT = 1;
export const FM_OP_RELEASE = 2;
/** control words: the ring is in use; the device is asleep on its doorbell */
export const FM_CTL_ACTIVE = 0;
export const FM_CTL_SLEEPING = 1;
/** longest synchronous sleep of the device between looks at its event loop */
export const FM_SLEEP_SLICE_MS = 2;
/** notifies an FM producer tries before it leaves a device that says it is asleep to its slice */
const WAKE_TRIES = 1000;

/** reply bell words: the reply count (the futex word), and how many FM threads wait on it */
export const FM_BELL_SEQ = 0;
export const FM_BELL_WAITERS = 1;
export const FM_BELL_WORDS = 2;

export interface FmRingHandle {
  req: SharedArrayBuffer;
  rep: SharedArrayBuffer;
  ctl: SharedArrayBuffer;
  /** the reply bell (FM_BELL_WORDS words), shared by every FM ring of one FM */
  bell: SharedArrayBuffer;
}

/** A reply bell for the FM rings of one FM (`createFmRing(bell)`). */
export function createFmBell(): SharedArrayBuffer {
  return new SharedArrayBuffer(4 * FM_BELL_WORDS);
}

export function createFmRing(bell: SharedArrayBuffer = createFmBell()): FmRingHandle {
  return {
    req: SpscRing.create(FM_RING_CAPACITY, FM_REQ_WORDS).sab,
    rep: SpscRing.create(FM_RING_CAPACITY, FM_REP_WORDS).sab,
    ctl: new SharedArrayBuffer(4 * 4),
    bell,
  };
}

/**
 * The FM thread sleeps until a device replies on any FM ring sharing `bell`, at most `timeoutMs`
 * (the caller's fallback poll). Returns at once when `repliesPending()` says a reply is unread.
 */
export function waitFmReplies(bell: Int32Array, repliesPending: () => boolean, timeoutMs: number): void {
  const seen = Atomics.load(bell, FM_BELL_SEQ);
  Atomics.add(bell, FM_BELL_WAITERS, 1);
  // a reply pushed before `seen` was read is in a ring; one pushed after it moved the bell, and
  // the wait below returns at once ("not-equal")
  if (!repliesPending()) Atomics.wait(bell, FM_BELL_SEQ, seen, timeoutMs);
  Atomics.sub(bell, FM_BELL_WAITERS, 1);
}

/** a failed call's errno code (reply word 2) back to its name; EINVAL for none */
function fmErrno(code: number): FmErrorCode {
  const name = ERRNO_NAME[code];
  return isFmErrorCode(name) ? name : 'EINVAL';
}

type Pending = (r: { ok: boolean; code: number }) => void;

/** The FM side (one thread, the system's main thread). */
export class FmRingClient {
  private readonly req: SpscRing;
  private readonly rep: SpscRing;
  private readonly ctl: Int32Array;
  private readonly doorbell: Int32Array;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private buf = new Int32Array(FM_REQ_WORDS * 64);
  private readonly bytes = new Uint8Array(16);
  private readonly repBuf = new Int32Array(FM_REP_WORDS * 256);

  constructor(h: FmRingHandle, regfile: SharedArrayBuffer) {
    this.req = SpscRing.attach(h.req);
    this.rep = SpscRing.attach(h.rep);
    this.ctl = new Int32Array(h.ctl);
    this.doorbell = new Int32Array(regfile, 0, REG_DOORBELL + 1);
    Atomics.store(this.ctl, FM_CTL_ACTIVE, 1);
  }

  /** null: the ring has no room (the caller uses comlink) */
  injectRecords(records: InjectRecord[]): Promise<FmResult<AddCapacityOk>> | null {
    return this.call(FM_OP_INJECT, 0, records.map((r) => ({ offset: r.offset, length: r.length, tag: r.tag ?? null, more: r.more === true, seq: r.seq ?? 0 })), 'inject') as Promise<FmResult<AddCapacityOk>> | null;
  }

  /** prescriptive releases only (null otherwise, or when the ring has no room) */
  releaseCapacity(req: ReleaseCapacityRequest): Promise<FmResult<ReleaseCapacityOk>> | null {
    if (req.policy !== 'prescriptive' || !req.extents || req.region !== undefined || req.forced || req.tag !== undefined) return null;
    return this.call(FM_OP_RELEASE, 0, req.extents.map((e) => ({ offset: e.offset, length: e.length, tag: e.tag ?? null, more: false, seq: 0 })), 'release') as Promise<FmResult<ReleaseCapacityOk>> | null;
  }

  private call(op: number, policy: number, items: { offset: number; length: number; tag: string | null; more: boolean; seq: number }[], what: string): Promise<FmResult<object>> | null {
    const n = items.length + 1;
    if (n > FM_RING_CAPACITY || this.req.capacity - this.req.size() < n) return null;
    if (this.buf.length < n * FM_REQ_WORDS) this.buf = new Int32Array(n * FM_REQ_WORDS * 2);
    const b = this.buf;
    const f = new Float64Array(b.buffer, 0, (n * FM_REQ_WORDS) >> 1);
    const seq = ++this.seq;
    b.fill(0, 0, n * FM_REQ_WORDS);
    b[0] = seq; b[1] = op; b[2] = items.length; b[3] = policy;
    items.forEach((it, i) => {
      const o = (i + 1) * FM_REQ_WORDS;
      f[o >> 1] = it.offset;
      f[(o >> 1) + 1] = it.length;
      b[o + 4] = (it.tag !== null ? 1 : 0) | (it.more ? 2 : 0);
      if (it.tag !== null) {
        uuidToBytes(it.tag, this.bytes, 0);
        const v = new Int32Array(this.bytes.buffer);
        for (let k = 0; k < 4; k++) b[o + 5 + k] = v[k]!;
      }
      b[o + 9] = it.seq;
    });
    if (this.req.pushBatch(b, n, 0) !== n) throw new Error('FM ring: push failed after the room check');
    this.wakeDevice();
    return new Promise((resolve) => {
      this.pending.set(seq, (r) => resolve(r.ok ? { ok: true, value: {} } as FmResult<object> : fmError(fmErrno(r.code), `FM ring ${what} #${seq} failed on the device (its error message stays there: fmErrors, the event log)`)));
    });
  }

  /**
   * The device sleeps on its doorbell word: wake it if it said it is asleep. Its futex word is the
   * doorbell, which an FM request does not change, so a notify that lands between the device's
   * last look at the ring and its wait would be lost (the device would sleep out its slice,
   * FM_SLEEP_SLICE_MS): notify until a waiter is woken or the device says it is awake. The
   * device's window is a few loads long; the loop is bounded.
   */
  private wakeDevice(): void {
    for (let i = 0; i < WAKE_TRIES && Atomics.load(this.ctl, FM_CTL_SLEEPING) !== 0; i++) {
      if (Atomics.notify(this.doorbell, REG_DOORBELL) > 0) return;
    }
  }

  /** Is a reply waiting to be read (`drainReplies`)? */
  repliesPending(): boolean {
    return this.rep.size() > 0;
  }

  /** Resolve the calls the device answered; returns how many. */
  drainReplies(): number {
    let total = 0;
    for (;;) {
      const k = this.rep.popBatch(this.repBuf, 256);
      if (k === 0) return total;
      for (let i = 0; i < k; i++) {
        const seq = this.repBuf[i * FM_REP_WORDS]!;
        const p = this.pending.get(seq);
        this.pending.delete(seq);
        p?.({ ok: this.repBuf[i * FM_REP_WORDS + 1] === 1, code: this.repBuf[i * FM_REP_WORDS + 2]! });
      }
      total += k;
    }
  }

  outstanding(): number {
    return this.pending.size;
  }
}

export interface FmRingRequest {
  seq: number;
  op: number;
  records: InjectRecord[];
}

/** The device side (the device worker). */
export class FmRingServer {
  private readonly req: SpscRing;
  private readonly rep: SpscRing;
  readonly ctl: Int32Array;
  private buf = new Int32Array(FM_REQ_WORDS * FM_RING_CAPACITY);
  private readonly f: Float64Array;
  private readonly bytes = new Uint8Array(16);
  private readonly one = new Int32Array(FM_REP_WORDS);
  private readonly bell: Int32Array;

  constructor(h: FmRingHandle) {
    this.req = SpscRing.attach(h.req);
    this.rep = SpscRing.attach(h.rep);
    this.ctl = new Int32Array(h.ctl);
    this.bell = new Int32Array(h.bell, 0, FM_BELL_WORDS);
    this.f = new Float64Array(this.buf.buffer);
  }

  active(): boolean {
    return Atomics.load(this.ctl, FM_CTL_ACTIVE) !== 0;
  }

  pending(): boolean {
    return this.req.size() > 0;
  }

  /** Take every complete request published so far. */
  take(): FmRingRequest[] {
    const out: FmRingRequest[] = [];
    for (;;) {
      // the header first, then its entries (the producer publishes a request in one push)
      if (this.req.popBatch(this.buf, 1) === 0) return out;
      const seq = this.buf[0]!;
      const op = this.buf[1]!;
      const n = this.buf[2]!;
      let got = 0;
      while (got < n) got += this.req.popBatch(this.buf.subarray(got * FM_REQ_WORDS), n - got);
      const records: InjectRecord[] = [];
      for (let i = 0; i < n; i++) {
        const o = i * FM_REQ_WORDS;
        const flags = this.buf[o + 4]!;
        let tag: string | null = null;
        if (flags & 1) {
          const v = new Int32Array(this.bytes.buffer);
          for (let k = 0; k < 4; k++) v[k] = this.buf[o + 5 + k]!;
          tag = uuidFromBytes(this.bytes, 0);
        }
        records.push({ offset: this.f[o >> 1]!, length: this.f[(o >> 1) + 1]!, tag, more: (flags & 2) !== 0, seq: this.buf[o + 9]! });
      }
      out.push({ seq, op, records });
    }
  }

  reply(seq: number, res: { ok: true } | { ok: false; errno?: FmErrorCode } | null): void {
    this.one[0] = seq;
    this.one[1] = res?.ok ? 1 : 0;
    this.one[2] = res && !res.ok ? ERRNO_CODES[res.errno ?? 'EINVAL'] : 0;
    this.rep.push(this.one, 1000);
    // ring the FM's reply bell; wake it only when it said it waits there (waitFmReplies)
    Atomics.add(this.bell, FM_BELL_SEQ, 1);
    if (Atomics.load(this.bell, FM_BELL_WAITERS) !== 0) Atomics.notify(this.bell, FM_BELL_SEQ);
  }
}
