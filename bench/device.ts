/**
 * DOC: device mailbox throughput — commands/s from a host thread to the device worker.
 *
 * Measures, in one run and on the same machine:
 *  - the bare register-file round trip (workers/mbox-echo.ts completes every command at once);
 *  - Get Event Records on the DC log (16 records queued; the cxl-test device returns 1–4 per call);
 *  - Add DC Response with 1 and with 100 entries (a replay of accepted extents: the mock's success
 *    no-op path, mock 9, so the device state does not change between iterations and every command
 *    does the full decode + lookup work);
 *  - Release DC with 1 entry that is not accepted (the mock ignores it, mock 10).
 * Each case runs RUNS times for RUN_MS; the table shows the median commands/s, the per-command
 * time, min/max over runs, latency percentiles over all runs (perf_hooks histogram), and the ratio
 * to the bare round trip. A second table runs the same commands on an identical DcdDevice in this
 * thread (`mbox()` called directly): the handler cost alone, without the thread hop — it stays
 * meaningful on a loaded machine where the cross-thread figures are dominated by scheduling.
 * Run: `npm run bench:device` (optional args: RUN_MS RUNS).
 */
import { Worker } from 'node:worker_threads';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createHistogram } from 'node:perf_hooks';
import os from 'node:os';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { RegFile } from '../src/shm/regfile.js';
import { allocateDeviceBuffers, type DeviceService } from '../src/device/service.js';
import type { DeviceConfig } from '../src/device/config.js';
import { DcdDevice } from '../src/device/device.js';
import * as W from '../src/wire/cxl.js';
import { MiB } from '../src/units.js';

const RUN_MS = Number(process.argv[2] ?? 400);
const RUNS = Number(process.argv[3] ?? 5);
const SEED = 'bench-device';

function spawn(entryTs: string, data: object): Worker {
  const entry = pathToFileURL(fileURLToPath(new URL(entryTs, import.meta.url))).href;
  return new Worker(new URL('../workers/bootstrap.mjs', import.meta.url), { workerData: { __entry: entry, ...data } });
}

interface Case { name: string; opcode: number; input: Uint8Array }
interface Result { name: string; median: number; min: number; max: number; p50us: number; p99us: number; p999us: number }

function measure(rf: RegFile, c: Case): Result {
  const perRun: number[] = [];
  const hist = createHistogram();
  // warm-up
  for (let i = 0; i < 2000; i++) rf.submit(c.opcode, c.input);
  for (let run = 0; run < RUNS; run++) {
    let n = 0;
    const t0 = process.hrtime.bigint();
    const end = t0 + BigInt(RUN_MS) * 1_000_000n;
    let now = t0;
    while (now < end) {
      const r = rf.submit(c.opcode, c.input);
      const t1 = process.hrtime.bigint();
      if (r.rc !== 0) throw new Error(`${c.name}: rc ${W.rcName(r.rc)}`);
      hist.record(Number(t1 - now) || 1);
      now = t1;
      n++;
    }
    perRun.push(n / (Number(now - t0) / 1e9));
  }
  perRun.sort((a, b) => a - b);
  return {
    name: c.name, median: perRun[Math.floor(perRun.length / 2)] ?? 0, min: perRun[0] ?? 0, max: perRun[perRun.length - 1] ?? 0,
    p50us: hist.percentile(50) / 1000, p99us: hist.percentile(99) / 1000, p999us: hist.percentile(99.9) / 1000,
  };
}

/** The same command loop against an in-thread device: handler cost without the thread hop. */
function measureLocal(dev: DcdDevice, c: Case): Result {
  const out = new Uint8Array(4096);
  const perRun: number[] = [];
  const hist = createHistogram();
  for (let i = 0; i < 2000; i++) dev.mbox(c.opcode, c.input, out);
  for (let run = 0; run < RUNS; run++) {
    let n = 0;
    const t0 = process.hrtime.bigint();
    const end = t0 + BigInt(RUN_MS) * 1_000_000n;
    let now = t0;
    while (now < end) {
      for (let k = 0; k < 64; k++) {
        if (dev.mbox(c.opcode, c.input, out).rc !== 0) throw new Error(`${c.name}: local rc != 0`);
      }
      const t1 = process.hrtime.bigint();
      hist.record(Math.max(1, Math.round(Number(t1 - now) / 64)));
      now = t1;
      n += 64;
    }
    perRun.push(n / (Number(now - t0) / 1e9));
  }
  perRun.sort((a, b) => a - b);
  return {
    name: c.name, median: perRun[Math.floor(perRun.length / 2)] ?? 0, min: perRun[0] ?? 0, max: perRun[perRun.length - 1] ?? 0,
    p50us: hist.percentile(50) / 1000, p99us: hist.percentile(99) / 1000, p999us: hist.percentile(99.9) / 1000,
  };
}

/** Bring a device to the benchmark state: 100 accepted extents, 16 records in the log. */
function prepareLocal(config: DeviceConfig): DcdDevice {
  const d = new DcdDevice(config);
  d.injectRecords(Array.from({ length: 100 }, (_, i) => ({ offset: i * 2 * MiB, length: 2 * MiB, more: i < 99 })));
  // play the host's drain: clear the log until the held records have all been offered
  while (d.outbox.length > 0 || d.log.count > 0) {
    d.log.clearAll();
    d.pump();
  }
  const out = new Uint8Array(4096);
  if (d.mbox(W.CXL_MBOX_OP.ADD_DC_RESPONSE, response(100), out).rc !== 0) throw new Error('local accept failed');
  d.injectRecords(Array.from({ length: 16 }, (_, i) => ({ offset: 512 * MiB + i * 2 * MiB, length: 2 * MiB })));
  return d;
}

function response(n: number): Uint8Array {
  const b = new Uint8Array(W.dcResponseSize(n));
  W.encodeDcResponse({ flags: 0, extents: Array.from({ length: n }, (_, i) => ({ dpaStart: BigInt(2048 * MiB + i * 2 * MiB), length: BigInt(2 * MiB) })) }, b);
  return b;
}

async function main(): Promise<void> {
  const config: DeviceConfig = {
    name: 'mem0', serial: 1, personality: 'cxl-test', seed: SEED, payloadSize: 4096, staticBytes: 2048 * MiB,
    partitions: [{ base: 2048 * MiB, decodeLength: 1024 * MiB, length: 1024 * MiB, blockSize: 2 * MiB, dsmadHandle: 0xfa, sharable: false }],
    preAccepted: [],
  };
  console.log(`bench:device seed=${SEED} runMs=${RUN_MS} runs=${RUNS} node=${process.version} cpus=${os.cpus().length} (${os.cpus()[0]?.model ?? '?'})`);
  console.log(`device: personality=${config.personality} payloadSize=${config.payloadSize} DC=1G blocks=2M`);

  // baseline: bare register-file round trip
  const echoRf = RegFile.create(4096);
  const echo = spawn('../workers/mbox-echo.ts', { regfile: echoRf.sab });
  await new Promise((r) => setTimeout(r, 300));
  const results: Result[] = [measure(echoRf, { name: 'bare register-file round trip', opcode: W.CXL_MBOX_OP.GET_EVENT_RECORDS, input: new Uint8Array([4]) })];
  echoRf.stop();
  await echo.terminate();

  // the device
  const bufs = allocateDeviceBuffers(config);
  const w = spawn('../workers/device.ts', { config, regfile: bufs.regfile, media: bufs.media });
  const dev = Comlink.wrap<DeviceService>(nodeEndpoint(w));
  await dev.start();
  const rf = RegFile.attach(bufs.regfile);
  // 100 accepted extents at the partition start
  const inj = await dev.injectRecords(Array.from({ length: 100 }, (_, i) => ({ offset: i * 2 * MiB, length: 2 * MiB, more: i < 99 })));
  if (!inj.ok) throw new Error(inj.message);
  for (;;) {
    const g = rf.submit(W.CXL_MBOX_OP.GET_EVENT_RECORDS, new Uint8Array([4]));
    const d = W.decodeGetEventRecordsOut(g.out.slice());
    if (!d.ok || d.value.recordCount === 0) break;
    const hs = d.value.records.map((r) => new DataView(r.buffer, r.byteOffset).getUint16(0x14, true));
    const cl = new Uint8Array(W.clearEventRecordsInSize(hs.length));
    W.encodeClearEventRecordsIn({ logType: 4, flags: 0, handles: hs }, cl);
    rf.submit(W.CXL_MBOX_OP.CLEAR_EVENT_RECORDS, cl);
  }
  const acc = rf.submit(W.CXL_MBOX_OP.ADD_DC_RESPONSE, response(100));
  if (acc.rc !== 0) throw new Error(`accept: ${W.rcName(acc.rc)}`);
  // 16 records left in the log for Get Event Records
  await dev.injectRecords(Array.from({ length: 16 }, (_, i) => ({ offset: 512 * MiB + i * 2 * MiB, length: 2 * MiB })));
  const rel = new Uint8Array(W.dcResponseSize(1));
  W.encodeDcResponse({ flags: 0, extents: [{ dpaStart: BigInt(2048 * MiB + 900 * MiB), length: BigInt(2 * MiB) }] }, rel);

  const cases: Case[] = [
    { name: 'Get Event Records (DC log, 1-4 records)', opcode: W.CXL_MBOX_OP.GET_EVENT_RECORDS, input: new Uint8Array([4]) },
    { name: 'Add DC Response, 1 entry', opcode: W.CXL_MBOX_OP.ADD_DC_RESPONSE, input: response(1) },
    { name: 'Add DC Response, 100 entries', opcode: W.CXL_MBOX_OP.ADD_DC_RESPONSE, input: response(100) },
    { name: 'Release DC, 1 entry (ignored)', opcode: W.CXL_MBOX_OP.RELEASE_DC, input: rel },
  ];
  for (const c of cases) results.push(measure(rf, c));
  const c = await dev.counters();
  await dev.stop();
  dev[Comlink.releaseProxy]();
  await w.terminate();

  const local = prepareLocal(config);
  const localResults = cases.map((c) => measureLocal(local, c));
  printTable('host thread -> device worker, through the register file', results, results[0]?.median ?? 1);
  printTable('in-thread DcdDevice.mbox (handler cost, no thread hop)', localResults, results[0]?.median ?? 1);
  console.log();
  console.log(`device counters: ${c.mboxCommands.toLocaleString('en-US')} commands, ${c.mboxErrors} errors, ${c.internalErrors} internal errors; load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
}

function printTable(title: string, results: Result[], bare: number): void {
  const rows = results.map((r) => [
    r.name, Math.round(r.median).toLocaleString('en-US'), (1e6 / r.median).toFixed(2), Math.round(r.min).toLocaleString('en-US'),
    Math.round(r.max).toLocaleString('en-US'), r.p50us.toFixed(2), r.p99us.toFixed(2), r.p999us.toFixed(2), (r.median / bare).toFixed(2),
  ]);
  const head = ['case', 'median cmd/s', 'us/cmd', 'min cmd/s', 'max cmd/s', 'p50 us', 'p99 us', 'p99.9 us', 'x bare'];
  const width = head.map((hd, i) => Math.max(hd.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((x, i) => (i === 0 ? x.padEnd(width[i] ?? 0) : x.padStart(width[i] ?? 0))).join('  ');
  console.log();
  console.log(title);
  console.log(line(head));
  console.log(width.map((n) => '-'.repeat(n)).join('  '));
  for (const r of rows) console.log(line(r));
}

await main();
