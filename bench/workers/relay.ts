/**
 * Bench fixture worker for the `dcd bench` baselines: the pipeline's thread hops with no work.
 *
 * The pipeline moves each extent device → event thread (interrupt + Get Event Records) and event
 * thread → device (Add DC Response): two thread hops between two threads. The baselines move bare
 * 10-word records (the size of a CXL extent, 0x28 bytes) over the same two hops:
 *  - ring: the "device" worker pushes into an SpscRing (src/shm/ring.ts), the "event-thread" worker
 *    relays into a second ring, the "device" worker consumes it — the SharedArrayBuffer ceiling;
 *  - postMessage: the same relay over a MessageChannel, one message per record, a bounded number
 *    in flight; and the batched variant (one message carries `batch` records).
 */
import type { MessagePort } from 'node:worker_threads';
import { exposeApi, workerStartup } from '../../src/runtime/worker-side.js';
import { SpscRing } from '../../src/shm/ring.js';

const boot = workerStartup<Record<string, never>>();

const now = (): number => performance.timeOrigin + performance.now();

export interface RelayTimed {
  t0: number;
  t1: number;
  n: number;
  bad: number;
}

const api = {
  ready: () => boot.name,

  /** "device": produce n records into `outSab` (batched), consume them back from `inSab` */
  ringDevice(outSab: SharedArrayBuffer, inSab: SharedArrayBuffer, n: number, batch: number): RelayTimed {
    const out = SpscRing.attach(outSab);
    const inn = SpscRing.attach(inSab);
    const w = out.recordWords;
    const buf = new Int32Array(batch * w);
    const rx = new Int32Array(256 * w);
    const t0 = now();
    let sent = 0;
    let got = 0;
    let bad = 0;
    while (got < n) {
      if (sent < n && out.capacity - out.size() >= batch) {
        const k = Math.min(batch, n - sent);
        for (let j = 0; j < k; j++) { buf[j * w] = sent + j; buf[j * w + 1] = 0x1000 + j; }
        out.pushBatch(buf, k);
        sent += k;
      }
      const k = inn.popBatch(rx, 256);
      for (let j = 0; j < k; j++) if (rx[j * w] !== got + j) bad++;
      got += k;
      if (k === 0 && sent >= n) inn.waitNonEmpty(1000);
    }
    return { t0, t1: now(), n, bad };
  },

  /** "event thread": relay n records from `inSab` to `outSab` */
  ringEvent(inSab: SharedArrayBuffer, outSab: SharedArrayBuffer, n: number): number {
    const a = SpscRing.attach(inSab);
    const b = SpscRing.attach(outSab);
    const buf = new Int32Array(256 * a.recordWords);
    let moved = 0;
    while (moved < n) {
      if (!a.waitNonEmpty(5000)) throw new Error('relay starved');
      const k = a.popBatch(buf, 256);
      if (b.pushBatch(buf, k) !== k) throw new Error('ring closed');
      moved += k;
    }
    return moved;
  },

  /**
   * "device" over postMessage: n records, each its own message (batch 1) or `batch` records per
   * Int32Array message, at most `window` records in flight; resolves when all came back.
   */
  pmDevice(port: MessagePort, n: number, window: number, batch: number, words: number): Promise<RelayTimed> {
    return new Promise((resolve) => {
      const t0 = now();
      let sent = 0;
      let got = 0;
      let bad = 0;
      const send = (): void => {
        while (sent < n && sent - got < window) {
          if (batch <= 1) {
            const rec = new Int32Array(words);
            rec[0] = sent;
            port.postMessage(rec);
            sent++;
          } else {
            const k = Math.min(batch, n - sent);
            const recs = new Int32Array(k * words);
            for (let j = 0; j < k; j++) recs[j * words] = sent + j;
            port.postMessage(recs);
            sent += k;
          }
        }
      };
      port.on('message', (m: Int32Array) => {
        const k = m.length / words;
        for (let j = 0; j < k; j++) if (m[j * words] !== got + j) bad++;
        got += k;
        if (got >= n) {
          port.close();
          resolve({ t0, t1: now(), n, bad });
        } else {
          send();
        }
      });
      send();
    });
  },

  /** "event thread" over postMessage: echo every message back */
  pmEvent(port: MessagePort): void {
    port.on('message', (m: Int32Array) => port.postMessage(m));
  },
};

export type RelayApi = typeof api;
exposeApi(api);
