/**
 * DOC: running a scenario (README.md) on the real worker topology — what `dcd run` does.
 *
 * Steps run in order on the main thread (the fabric manager's and the test driver's seat); each
 * sysfs-like op runs on a user worker, each FM op on the memdev's device worker. A `parallel`
 * step runs each branch on its own user worker at the same time and records the order in which
 * the branches' ops completed — the interleaving that run saw.
 *
 * Op outcomes follow the contract: `expectError` (must fail with one of these errnos),
 * `allowError` (may fail with one of these), `id` (outcome recorded at `ops.<id>`). Anything else
 * that fails is a step failure. Expectations read the state paths; a failing one reports path,
 * expected and actual. Checkers attached to the system run at the end: a forbidden outcome fails
 * the run naming the invariant; known hazards are reported and do not.
 */
import { DcdSystem, sleep, type Checker } from './system.js';
import { evaluateExpect, type ExpectResult } from '../scenario/match.js';
import type { Knobs, OpStep, Scenario, Step, Variant } from '../scenario/types.js';
import type { Personality } from '../device/config.js';
import type { FmResult } from '../device/types.js';
import type { CheckerResult, OpOutcome, SystemState } from '../state.js';
import type { DecodedEvent, OpResult } from '../protocol.js';
import { WorkerCrash } from './spawn.js';

export interface RunOptions {
  variant?: Variant;
  knobs?: Knobs;
  device?: Personality;
  seed?: number;
  clock?: 'real' | 'virtual';
  /** modelled device mailbox latency, µs per command (overrides topology.deviceLatencyUs) */
  deviceLatencyUs?: number;
  checkers?: Checker[];
  traceLocks?: boolean;
  hungMs?: number;
  /** called after each top-level step (progress, traces) */
  onStep?: (r: StepResult) => void;
  /** called once at the end with every runtime event and a thread-name lookup (Perfetto trace) */
  onTrace?: (events: readonly DecodedEvent[], threadName: (slot: number) => string) => void;
}

export interface StepResult {
  /** JSON path of the step, e.g. $.steps[3] or $.steps[5].parallel[1][0] */
  path: string;
  op: string;
  ok: boolean;
  /** errno the op failed with, if it failed */
  errno?: string;
  message?: string;
  expect?: ExpectResult;
  description?: string;
}

export interface RunResult {
  ok: boolean;
  exitCode: 0 | 1;
  steps: StepResult[];
  state: SystemState;
  checks: CheckerResult[];
  /** one line per failure (step, expectation, invariant, crash, hung wait) */
  failures: string[];
  /** per parallel step: the order in which branch ops completed, e.g. "b1:destroy-dax-device b0:add-capacity" */
  interleavings: { path: string; order: string }[];
  system: { lockOrderReports: number; hungReports: number };
}

interface Ctx {
  sys: DcdSystem;
  regions: Map<string, number>;
  daxes: Map<string, { regionId: number; devId: number }>;
  ops: Record<string, OpOutcome>;
  results: StepResult[];
  interleavings: { path: string; order: string }[];
  failures: string[];
}

const FNV = (s: string): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h | 0;
};

function patternOf(p: string | number): number {
  return typeof p === 'number' ? p | 0 : FNV(p);
}

function maxBranches(steps: Step[]): number {
  let n = 1;
  for (const s of steps) if (s.op === 'parallel') n = Math.max(n, s.branches.length);
  return n;
}

/** Start a system for a scenario (options override the file's variant/device/seed/clock). */
export async function startScenarioSystem(scn: Scenario, opts: RunOptions = {}): Promise<DcdSystem> {
  const sys = await DcdSystem.start({
    memdevs: scn.topology.memdevs,
    variant: opts.variant ?? scn.variant,
    knobs: { ...scn.knobs, ...(opts.knobs ?? {}) },
    device: opts.device ?? scn.device,
    clock: opts.clock ?? scn.clock,
    seed: opts.seed ?? scn.seed,
    deviceLatencyUs: opts.deviceLatencyUs ?? scn.topology.deviceLatencyUs ?? 0,
    users: Math.max(2, maxBranches(scn.steps)),
    traceLocks: opts.traceLocks ?? false,
    hungMs: opts.hungMs ?? 3000,
  });
  for (const c of opts.checkers ?? []) sys.addChecker(c);
  return sys;
}

export async function runScenario(scn: Scenario, opts: RunOptions = {}): Promise<RunResult & { sys?: DcdSystem }> {
  const sys = await startScenarioSystem(scn, opts);
  try {
    return await runScenarioOn(sys, scn, opts);
  } finally {
    await sys.stop();
  }
}

/** Run the steps of a scenario on a started system (the caller stops it). */
export async function runScenarioOn(sys: DcdSystem, scn: Scenario, opts: RunOptions = {}): Promise<RunResult> {
  const c: Ctx = { sys, regions: new Map(), daxes: new Map(), ops: {}, results: [], interleavings: [], failures: [] };
  try {
    for (let i = 0; i < scn.steps.length; i++) {
      const step = scn.steps[i]!;
      const path = `$.steps[${i}]`;
      if (step.op === 'parallel') await runParallel(c, step.branches, path);
      else await runStep(c, step, path, 0);
      const last = c.results[c.results.length - 1];
      if (last && opts.onStep) opts.onStep(last);
      if (sys.reportCounts().hung > 0) {
        c.failures.push(`hung wait reported during ${path}:\n${sys.hungReports().map((r) => formatHung(r)).join('\n')}`);
        break;
      }
    }
  } catch (e) {
    if (e instanceof WorkerCrash) c.failures.push(`${e.message}\n${e.workerStack ?? ''}`);
    else c.failures.push(`run aborted: ${(e as Error).stack ?? String(e)}`);
  }
  let state: SystemState;
  let checks: CheckerResult[] = [];
  try {
    state = await snapshot(c);
    checks = sys.checkers.flatMap((k) => k.atQuiescence(state, sys));
  } catch (e) {
    c.failures.push(`final state unavailable: ${(e as Error).message}`);
    state = { regions: {}, daxDevices: {}, memdevs: {}, trace: { mailbox: [], dynamicCapacityEvents: [], log: [] }, ops: c.ops, checks: [] };
  }
  state.checks = checks;
  if (opts.onTrace) opts.onTrace(sys.events, (slot) => sys.sys.threadName(slot));
  for (const k of checks) if (!k.ok && k.class === 'forbidden') c.failures.push(`invariant violated: ${k.invariant}${k.detail ? ` — ${k.detail}` : ''}`);
  const counts = sys.reportCounts();
  return {
    ok: c.failures.length === 0,
    exitCode: c.failures.length === 0 ? 0 : 1,
    steps: c.results,
    state,
    checks,
    failures: c.failures,
    interleavings: c.interleavings,
    system: { lockOrderReports: counts.lockOrder, hungReports: counts.hung },
  };
}

function formatHung(r: { waiter: { name: string }; holders: { name: string }[]; boundMs: number }): string {
  return `  ${r.waiter.name} blocked > ${r.boundMs} ms on a lock held by ${r.holders.map((h) => h.name).join(', ') || 'nobody found'}`;
}

async function snapshot(c: Ctx): Promise<SystemState> {
  const st = await c.sys.state();
  // scenario aliases: the entries keep their kernel names as keys and carry `alias`; a path
  // segment `regions.<as>` resolves through it (match.ts), so nothing is listed twice
  for (const [alias, id] of c.regions) {
    const v = st.regions[`region${id}`];
    if (v) v.alias = alias;
  }
  for (const [alias, d] of c.daxes) {
    const v = st.daxDevices[`dax${d.regionId}.${d.devId}`];
    if (v) v.alias = alias;
  }
  st.ops = { ...c.ops };
  return st;
}

async function runParallel(c: Ctx, branches: Step[][], path: string): Promise<void> {
  const order: string[] = [];
  await Promise.all(branches.map(async (steps, b) => {
    for (let i = 0; i < steps.length; i++) {
      const s = steps[i]!;
      if (s.op === 'parallel') throw new Error(`${path}: nested parallel`);
      await runStep(c, s, `${path}.parallel[${b}][${i}]`, b);
      order.push(`b${b}:${s.op}`);
    }
  }));
  c.interleavings.push({ path, order: order.join(' ') });
}

function region(c: Ctx, alias: string): number {
  const id = c.regions.get(alias);
  if (id === undefined) throw new Error(`unknown region alias ${alias}`);
  return id;
}

function dax(c: Ctx, alias: string): { regionId: number; devId: number } {
  const d = c.daxes.get(alias);
  if (!d) throw new Error(`unknown dax alias ${alias}`);
  return d;
}

function fm<T extends object>(r: FmResult<T>): OpResult<T> {
  return r.ok ? { ok: true, value: r as T } : r;
}

/** Execute one op; returns its OpResult (expect steps are handled separately). */
async function execute(c: Ctx, s: OpStep, user: number): Promise<OpResult<unknown>> {
  const sys = c.sys;
  const u = sys.user(user);
  const g = <T>(p: Promise<T>): Promise<T> => sys.guard(p);
  switch (s.op) {
    case 'add-capacity': {
      const m = sys.memdevIndex(s.memdev);
      const recs = s.extents.map((e) => ({ offset: e.offset, length: e.length, tag: e.tag, seq: e.seq, more: e.more }));
      return fm(await g(sys.device(m).call((a) => a.injectRecords(recs))));
    }
    case 'release-capacity': {
      const m = sys.memdevIndex(s.memdev);
      const extents = s.extents.map((e) => ({ offset: e.offset, length: e.length, tag: e.tag }));
      return fm(await g(sys.device(m).call((a) => a.releaseCapacity({ policy: 'prescriptive', extents, forced: s.forced }))));
    }
    case 'inject': {
      const m = sys.memdevIndex(s.memdev);
      return fm(await g(sys.device(m).call((a) => a.injectRaw(s.record, { shared: s.shared }))));
    }
    case 'region-config-updated': {
      const m = sys.memdevIndex(s.memdev);
      return fm(await g(sys.device(m).call((a) => a.regionConfigUpdated(s.regionIndex))));
    }
    case 'hostile-inject': {
      const m = sys.memdevIndex(s.memdev);
      return fm(await g(sys.device(m).call((a) => a.hostileInject(s.kind))));
    }
    case 'hold-extent': {
      // validate.ts refuses the op without the knob; a scenario built in code is checked here
      if (sys.knobs['extent-refs'] !== 'user') throw new Error('hold-extent needs knob extent-refs=user (a user hold of an extent device across time is NOT v11; docs/fidelity-holders.md)');
      const id = region(c, s.region);
      return g(u.call((a) => a.holdExtent(id, s.index, `${s.region}#${s.index}`)));
    }
    case 'put-extent':
      return g(u.call((a) => a.putExtent(`${s.region}#${s.index}`)));
    case 'create-region': {
      const r = await sys.createRegion(sys.memdevIndex(s.memdev), s.size ?? null, user);
      if (r.ok && s.as) c.regions.set(s.as, r.value.regionId);
      return r;
    }
    case 'destroy-region': {
      const id = region(c, s.region);
      await sys.waitIdle(); // a probe still running would race the teardown in ways a user cannot cause
      return g(u.call((a) => a.destroyRegion(id)));
    }
    case 'disable-region': {
      const id = region(c, s.region);
      await sys.waitIdle(); // as destroy-region: the probe finishes first
      return g(u.call((a) => a.disableRegion(id)));
    }
    case 'create-dax-device': {
      const id = region(c, s.region);
      const r = await g(u.call((a) => a.createDaxDevice(id, s.uuid === undefined ? undefined : s.uuid)));
      if (r.ok && s.as) c.daxes.set(s.as, { regionId: id, devId: r.value.devId });
      return r;
    }
    case 'destroy-dax-device': { const d = dax(c, s.dax); return g(u.call((a) => a.destroyDaxDevice(d.regionId, d.devId))); }
    case 'disable-dax-device': { const d = dax(c, s.dax); return g(u.call((a) => a.disableDaxDevice(d.regionId, d.devId))); }
    case 'enable-dax-device': { const d = dax(c, s.dax); return g(u.call((a) => a.enableDaxDevice(d.regionId, d.devId))); }
    case 'reconfigure-dax-device': { const d = dax(c, s.dax); return g(u.call((a) => a.reconfigureDaxDevice(d.regionId, d.devId, s.size))); }
    case 'unbind-driver': {
      const id = s.region ? region(c, s.region) : null;
      return g(sys.daxBus.call((a) => a.unbindDriver(id)));
    }
    case 'bind-driver': {
      const id = s.region ? region(c, s.region) : null;
      return g(sys.daxBus.call((a) => a.bindDriver(id)));
    }
    case 'write': { const d = dax(c, s.dax); return g(u.call((a) => a.write(d.regionId, d.devId, s.offset, s.length, patternOf(s.pattern)))); }
    case 'verify': { const d = dax(c, s.dax); return g(u.call((a) => a.verify(d.regionId, d.devId, s.offset, s.length, patternOf(s.pattern)))); }
    case 'advance-clock': await sys.advanceClock(s.by); return { ok: true, value: undefined };
    case 'wait-idle': await sys.waitIdle(s.timeout ?? 30_000); return { ok: true, value: undefined };
    case 'sleep': await sleep(s.by); return { ok: true, value: undefined };
    case 'expect': throw new Error('unreachable');
  }
}

async function runStep(c: Ctx, s: OpStep, path: string, user: number): Promise<void> {
  if (s.op === 'expect') {
    const st = await snapshot(c);
    const r = evaluateExpect(st, s);
    c.results.push({ path, op: s.op, ok: r.ok, expect: r, ...(s.description ? { description: s.description } : {}) });
    if (!r.ok) c.failures.push(`${path}: ${r.message}`);
    return;
  }
  let res: OpResult<unknown>;
  try {
    res = await execute(c, s, user);
  } catch (e) {
    if (e instanceof WorkerCrash) throw e;
    res = { ok: false, errno: 'EIO', message: (e as Error).message };
  }
  const errno = res.ok ? undefined : res.errno;
  if (s.id) c.ops[s.id] = { ok: res.ok, error: errno ?? null };
  let ok: boolean;
  let message: string | undefined;
  if (s.expectError) {
    ok = !res.ok && s.expectError.includes(errno as never);
    message = res.ok ? `expected failure with ${s.expectError.join('|')}, but it succeeded` : ok ? `failed as expected: ${errno}` : `expected ${s.expectError.join('|')}, got ${errno}: ${res.message}`;
  } else if (!res.ok) {
    ok = (s.allowError ?? []).includes(errno as never);
    message = `${errno}: ${res.message}`;
  } else {
    ok = true;
  }
  c.results.push({ path, op: s.op, ok, ...(errno ? { errno } : {}), ...(message ? { message } : {}), ...(s.description ? { description: s.description } : {}) });
  if (!ok) c.failures.push(`${path} ${s.op}: ${message}`);
}
