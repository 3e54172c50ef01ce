/**
 * DOC: the register file of one memdev — the only channel between a device and its host.
 *
 * As with real hardware, the host and the device share nothing but registers: a mailbox
 * (doorbell, opcode, payload length, payload bytes, return code), the Event Status register and an
 * interrupt word that the device bumps and `Atomics.notify`s (our MSI). Both sides map the same
 * SharedArrayBuffer; word indices are named in layout.ts.
 *
 * Mailbox protocol (CXL r3.1 §8.2.8.4): the host (holding its mailbox mutex — the register file
 * does not serialise submitters itself) writes opcode, payload and length, then sets the doorbell
 * to 1 and notifies. The device executes, writes the return code, output length and output
 * payload into the same payload area, then clears the doorbell and notifies. The host polls the
 * doorbell for a bounded number of spins (as the kernel polls the doorbell) before sleeping.
 */
import {
  REG_BG_STATUS, REG_CMD_SEQ, REG_DOORBELL, REG_EVENT_STATUS, REG_IRQ, REG_IRQ_SEEN, REG_OPCODE,
  REG_PAYLOAD_BYTE_OFFSET, REG_PAYLOAD_IN_LEN, REG_PAYLOAD_OUT_LEN, REG_PAYLOAD_SIZE, REG_RC,
  REG_STOP, REG_WORDS,
} from './layout.js';
import { OP_EQ, OP_NE } from './sched.js';
import { MBOX_RC_TIMEOUT } from '../wire/cxl.js';
import { MiB } from '../units.js';

export const DEFAULT_PAYLOAD_SIZE = 4096;
/** spins on the doorbell before the host sleeps on it */
export const MBOX_SPIN = 2000;

export interface MboxResult {
  /** mailbox return code (0 = success); MBOX_RC_TIMEOUT (-1) = timed out (no completion) */
  rc: number;
  /** output payload: a view into the register file, valid until the next command */
  out: Uint8Array;
}

/** How the controlled scheduler takes over the register file's blocking waits (points.ts). */
export interface RegfileSched {
  /** park until word `idx` satisfies (op, val) and the scheduler grants; false = not controlled */
  block(rf: RegFile, idx: number, op: number, val: number): boolean;
  blockAsync(rf: RegFile, idx: number, op: number, val: number): Promise<boolean>;
  /** a blocking wait on word `idx` returned (step log) */
  resumed(rf: RegFile, idx: number): void;
  /** the calling thread is under the controlled scheduler now */
  controlled(): boolean;
}

let sched: RegfileSched | null = null;

/** Install the calling thread's scheduler hooks (one per thread; null to remove). */
export function setRegfileSched(s: RegfileSched | null): void {
  sched = s;
}

export class RegFile {
  /** memdev index of this register file (for scheduler predicates); -1 when unknown */
  memdev = -1;
  readonly sab: SharedArrayBuffer;
  readonly words: Int32Array;
  readonly payload: Uint8Array;
  readonly payloadSize: number;

  private constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.words = new Int32Array(sab, 0, REG_WORDS);
    const size = Atomics.load(this.words, REG_PAYLOAD_SIZE);
    if (size <= 0 || REG_PAYLOAD_BYTE_OFFSET + size > sab.byteLength) {
      throw new RangeError(`register file: payload size ${size} does not fit a ${sab.byteLength}-byte buffer`);
    }
    this.payloadSize = size;
    this.payload = new Uint8Array(sab, REG_PAYLOAD_BYTE_OFFSET, size);
  }

  static create(payloadSize = DEFAULT_PAYLOAD_SIZE): RegFile {
    if (!Number.isInteger(payloadSize) || payloadSize < 256 || payloadSize > MiB) {
      throw new RangeError(`register file: payload size ${payloadSize} must be an integer in [256, 1M]`);
    }
    const sab = new SharedArrayBuffer(REG_PAYLOAD_BYTE_OFFSET + payloadSize);
    const w = new Int32Array(sab, 0, REG_WORDS);
    w[REG_PAYLOAD_SIZE] = payloadSize;
    return new RegFile(sab);
  }

  static attach(sab: SharedArrayBuffer, memdev = -1): RegFile {
    const r = new RegFile(sab);
    r.memdev = memdev;
    return r;
  }

  // ----------------------------------------------------------------------------- host side

  /**
   * Post one command and wait for its completion. The caller holds the memdev's mailbox mutex.
   * Returns rc -1 when the device did not complete within `timeoutMs` (the kernel's mailbox
   * timeout becomes -ETIMEDOUT); the doorbell is then left set, as a wedged device leaves it.
   */
  submit(opcode: number, input: Uint8Array, timeoutMs = 2000): MboxResult {
    const w = this.words;
    if (input.byteLength > this.payloadSize) {
      throw new RangeError(`mailbox: input of ${input.byteLength} bytes exceeds payload size ${this.payloadSize}`);
    }
    if (Atomics.load(w, REG_DOORBELL) !== 0) return { rc: MBOX_RC_TIMEOUT, out: this.payload.subarray(0, 0) };
    this.payload.set(input, 0);
    Atomics.store(w, REG_OPCODE, opcode);
    Atomics.store(w, REG_PAYLOAD_IN_LEN, input.byteLength);
    Atomics.store(w, REG_DOORBELL, 1);
    Atomics.notify(w, REG_DOORBELL);
    if (!sched?.block(this, REG_DOORBELL, OP_EQ, 0) && !this.waitDone(timeoutMs)) return { rc: MBOX_RC_TIMEOUT, out: this.payload.subarray(0, 0) };
    sched?.resumed(this, REG_DOORBELL);
    const rc = Atomics.load(w, REG_RC);
    const outLen = Math.min(Math.max(Atomics.load(w, REG_PAYLOAD_OUT_LEN), 0), this.payloadSize);
    return { rc, out: this.payload.subarray(0, outLen) };
  }

  private waitDone(timeoutMs: number): boolean {
    const w = this.words;
    for (let i = 0; i < MBOX_SPIN; i++) {
      if (Atomics.load(w, REG_DOORBELL) === 0) return true;
    }
    const deadline = Date.now() + timeoutMs;
    while (Atomics.load(w, REG_DOORBELL) !== 0) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      Atomics.wait(w, REG_DOORBELL, 1, Math.min(left, 50));
    }
    return true;
  }

  /** Event Status register (host read). */
  eventStatus(): number {
    return Atomics.load(this.words, REG_EVENT_STATUS);
  }

  /** Interrupt counter: the host remembers the last value it saw and sleeps until it changes. */
  irqCount(): number {
    return Atomics.load(this.words, REG_IRQ);
  }

  /**
   * Sleep until the interrupt word differs from `lastSeen` or the memdev is stopped.
   * Returns the new interrupt count. `timeoutMs` bounds one sleep so callers can poll stop flags.
   */
  waitIrq(lastSeen: number, timeoutMs: number): number {
    const w = this.words;
    if (Atomics.load(w, REG_IRQ) === lastSeen && Atomics.load(w, REG_STOP) === 0) {
      Atomics.wait(w, REG_IRQ, lastSeen, timeoutMs);
    }
    const now = Atomics.load(w, REG_IRQ);
    Atomics.store(w, REG_IRQ_SEEN, now);
    return now;
  }

  /** Asynchronous wait for the interrupt word to differ from `lastSeen` (keeps a timer alive). */
  async waitIrqAsync(lastSeen: number, timeoutMs: number): Promise<number> {
    const w = this.words;
    if (sched && (await sched.blockAsync(this, REG_IRQ, OP_NE, lastSeen))) return Atomics.load(w, REG_IRQ);
    if (Atomics.load(w, REG_IRQ) === lastSeen && Atomics.load(w, REG_STOP) === 0) {
      await waitAsyncAlive(w, REG_IRQ, lastSeen, timeoutMs);
    }
    if (Atomics.load(w, REG_IRQ) !== lastSeen) {
      // the run may have switched to controlled scheduling while we slept: enter the turnstile
      if (sched?.controlled()) await sched.blockAsync(this, REG_IRQ, OP_NE, lastSeen);
      else sched?.resumed(this, REG_IRQ);
    }
    return Atomics.load(w, REG_IRQ);
  }

  /**
   * Like `waitIrqAsync`, but a free-running thread sleeps synchronously (one futex hand-off
   * instead of a wake through the event loop), in slices of at most `sliceMs` so the caller can
   * yield to its event loop between them. Controlled runs take the turnstile path.
   */
  async waitIrqDirect(lastSeen: number, sliceMs: number): Promise<number> {
    const w = this.words;
    if (!sched || !sched.controlled()) {
      if (Atomics.load(w, REG_IRQ) === lastSeen && Atomics.load(w, REG_STOP) === 0) Atomics.wait(w, REG_IRQ, lastSeen, sliceMs);
      if (Atomics.load(w, REG_IRQ) === lastSeen) return lastSeen;
      if (!sched?.controlled()) { sched?.resumed(this, REG_IRQ); return Atomics.load(w, REG_IRQ); }
    }
    return this.waitIrqAsync(lastSeen, sliceMs);
  }

  // ----------------------------------------------------------------------------- device side

  /** True when a command is posted and not yet completed. */
  commandPending(): boolean {
    return Atomics.load(this.words, REG_DOORBELL) === 1;
  }

  /** Device: spin, then sleep until a command is posted (or stop / timeout). */
  waitCommand(timeoutMs: number, spin = MBOX_SPIN): boolean {
    const w = this.words;
    for (let i = 0; i < spin; i++) {
      if (Atomics.load(w, REG_DOORBELL) === 1) return true;
    }
    if (Atomics.load(w, REG_STOP) !== 0) return false;
    Atomics.wait(w, REG_DOORBELL, 0, timeoutMs);
    return Atomics.load(w, REG_DOORBELL) === 1;
  }

  /** Device: asynchronous variant so the device worker's event loop (FM API) stays live. */
  async waitCommandAsync(timeoutMs: number): Promise<boolean> {
    const w = this.words;
    if (sched && (await sched.blockAsync(this, REG_DOORBELL, OP_EQ, 1))) return true;
    if (Atomics.load(w, REG_DOORBELL) === 1) { sched?.resumed(this, REG_DOORBELL); return true; }
    if (sched?.controlled()) return false; // (not reached: blockAsync above took it)
    if (Atomics.load(w, REG_STOP) !== 0) return false;
    await waitAsyncAlive(w, REG_DOORBELL, 0, timeoutMs);
    const posted = Atomics.load(w, REG_DOORBELL) === 1;
    if (posted) {
      if (sched?.controlled()) await sched.blockAsync(this, REG_DOORBELL, 0, 1);
      else sched?.resumed(this, REG_DOORBELL);
    }
    return posted;
  }

  opcode(): number {
    return Atomics.load(this.words, REG_OPCODE);
  }

  /** input payload of the posted command, bounds-clamped to the payload area */
  input(): Uint8Array {
    const len = Atomics.load(this.words, REG_PAYLOAD_IN_LEN);
    return this.payload.subarray(0, Math.min(Math.max(len, 0), this.payloadSize));
  }

  /**
   * Device: complete the posted command. Output bytes must already be in `payload`. Returns how
   * many sleepers the completion woke (the host when its doorbell spin had ended: 1, else 0).
   */
  complete(rc: number, outLen: number): number {
    const w = this.words;
    if (outLen < 0 || outLen > this.payloadSize) throw new RangeError(`mailbox: output length ${outLen} out of range`);
    Atomics.store(w, REG_RC, rc);
    Atomics.store(w, REG_PAYLOAD_OUT_LEN, outLen);
    Atomics.add(w, REG_CMD_SEQ, 1);
    Atomics.store(w, REG_DOORBELL, 0);
    return Atomics.notify(w, REG_DOORBELL);
  }

  /** Device: set or clear Event Status bits. */
  setEventStatus(bits: number, on: boolean): void {
    if (on) Atomics.or(this.words, REG_EVENT_STATUS, bits);
    else Atomics.and(this.words, REG_EVENT_STATUS, ~bits);
  }

  /**
   * Device: raise the event interrupt (MSI): bump the interrupt word and wake the host. Returns
   * how many sleepers it woke (the event thread when it was waiting for an interrupt: 1, else 0).
   */
  raiseIrq(): number {
    Atomics.add(this.words, REG_IRQ, 1);
    return Atomics.notify(this.words, REG_IRQ);
  }

  setBackgroundStatus(v: number): void {
    Atomics.store(this.words, REG_BG_STATUS, v);
  }

  // ----------------------------------------------------------------------------- both

  stop(): void {
    Atomics.store(this.words, REG_STOP, 1);
    Atomics.notify(this.words, REG_IRQ);
    Atomics.notify(this.words, REG_DOORBELL);
  }

  stopped(): boolean {
    return Atomics.load(this.words, REG_STOP) !== 0;
  }

  commandsCompleted(): number {
    return Atomics.load(this.words, REG_CMD_SEQ);
  }
}

/**
 * `Atomics.waitAsync` that keeps the worker alive while pending: in Node 20 a pending waitAsync
 * does not hold the event loop open, so a worker with nothing else to do would exit (code 13)
 * and never see the notify. A timer for the duration of the wait holds it open.
 */
export async function waitAsyncAlive(arr: Int32Array, index: number, value: number, timeoutMs: number): Promise<'ok' | 'not-equal' | 'timed-out'> {
  const r = Atomics.waitAsync(arr, index, value, timeoutMs);
  if (!r.async) return r.value;
  const keepAlive = setTimeout(() => undefined, Math.max(1, Math.min(timeoutMs, 2 ** 31 - 1)));
  try {
    return await r.value;
  } finally {
    clearTimeout(keepAlive);
  }
}
