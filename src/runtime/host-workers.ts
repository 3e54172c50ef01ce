/**
 * DOC: the bodies of the host-side workers — what each kernel context does in its thread
 * (README.md table). The files in workers/ only call these.
 *
 *  - event-thread: `cxl_event_thread` for one memdev, woken by the device's interrupt word;
 *    handler 0 also probes the memdev's DC configuration at startup (cxl_pci probe);
 *  - workqueue: system_wq — runs each memdev's delayed `timeout_work` when it falls due on the
 *    run's clock (virtual or real);
 *  - dax-bus: the driver core for cxl_dax_region devices — async probe (with the existing-extent
 *    scan), bind and unbind, under device_lock(cxlr_dax);
 *  - user: sysfs writers — `cxl create-region`, `daxctl create-device --uuid`, size, delete,
 *    and users touching DAX memory. Every store runs in the calling user's thread.
 */
import { BARRIER_WORDS, barrierArrive } from '../shm/barrier.js';
import { HungWaitError, CxlError, ENODEV, StaleHandleError, errnoOf } from '../errors.js';
import { OP_NE, SchedAbort } from '../shm/sched.js';
import { blockSysAsync, opDone, opStart, resumedSys, schedControlled } from '../shm/points.js';
import { HostCtx } from '../host/context.js';
import type { ExtentHandle } from '../host/state.js';
import { withLock, withRead } from '../shm/lock.js';
import { EVENT_STATUS_DCD, SYS_WQ_DONE, SYS_WQ_KICK } from '../shm/layout.js';
import { waitAsyncAlive } from '../shm/regfile.js';
import { WQ_MAX_SLEEP_MS } from '../shm/clock.js';
import { NO_HANDLE, type Handle } from '../shm/table.js';
import { cxl_event_thread } from '../cxl/mbox.js';
import { cxl_memdev_probe_dc } from '../cxl/memdev.js';
import { cxl_dc_add_timeout, cxl_extent_get, cxl_extent_put } from '../cxl/extent.js';
import { cxl_create_dc_region, cxl_destroy_region, cxl_region_disable, cxl_region_probe } from '../cxl/region.js';
// a value import: loading src/dax/cxl.ts registers the cxl_dax_region driver the CXL core calls
// (src/cxl/dax-driver.ts) in every host worker, since every workers/ host entry loads this file
import { cxl_dax_region_probe, cxl_dax_region_unbind } from '../dax/cxl.js';
import { create_store, dax_dev_by_name, daxctl_create_device, daxctl_destroy_device, delete_store, enable_dev_dax, size_store, uuid_store } from '../dax/bus.js';
import { dax_mapping_by_id, dax_mapping_show } from '../dax/mapping.js';
import { dax_access } from '../dax/memory.js';
import { type DaxBusApi, type EventThreadApi, type OpResult, type SharedHandles, type UserApi, type WorkqueueApi } from '../protocol.js';
import type { SystemShm } from '../shm/system.js';

/** Run a sysfs-like operation: in-flight accounting for wait-idle, CxlError → typed result. */
function op<T>(ctx: HostCtx, fn: () => T): OpResult<T> {
  ctx.host.inflightBegin();
  try {
    opStart(); // controlled scheduling: the operation waits for its turn
    return { ok: true, value: fn() };
  } catch (e) {
    if (e instanceof CxlError) return { ok: false, errno: e.errno, message: e.message };
    if (e instanceof HungWaitError) return { ok: false, errno: 'EDEADLK', message: e.message };
    if (e instanceof StaleHandleError) return { ok: false, errno: 'EFAULT', message: e.message };
    if (e instanceof SchedAbort) return { ok: false, errno: 'EDEADLK', message: e.message };
    throw e;
  } finally {
    ctx.host.inflightEnd();
    opDone();
  }
}

function fromRc(rc: number, what: string): OpResult {
  if (rc === 0) return { ok: true, value: undefined };
  const name = errnoOf(rc);
  return { ok: false, errno: name, message: `${what}: ${name}` };
}

// ------------------------------------------------------------------------------ event thread

export interface EventThreadInit extends SharedHandles {
  memdev: number;
  handler: number;
  /** CDAT facts the host reads at probe: end of pmem (DC partition 0 must start there) and the
   *  DSMAS sharable flag of the DC partition */
  cdat: { staticBytes: number; sharable: boolean };
}

/**
 * The event thread blocks on its interrupt word directly (a futex wait, as a kernel IRQ thread
 * sleeps), in slices of IRQ_SLICE_MS, yielding to its event loop between slices for the control
 * plane (stop, stats — a few calls per run, so each waits at most one slice). The event-loop wait
 * (`waitAsync`) it replaced cost 20–60 µs per wake-up: single-extent p50 226–264 µs → 183–205 µs
 * (#8). DCD_IRQ_DIRECT=0 restores the event-loop wait for comparison.
 */
const IRQ_DIRECT = process.env.DCD_IRQ_DIRECT !== '0';
const IRQ_SLICE_MS = 10;

export function startEventThread(init: EventThreadInit, sys: SystemShm): EventThreadApi {
  const ctx = new HostCtx(init, sys);
  const rf = ctx.regfile(init.memdev);
  const m = ctx.host.memdev(init.memdev);
  let stopped = false;
  let drains = 0;
  /** the last drain was unwound (hung wait, stale handle, scheduler abort): records may be left */
  let unwound = false;
  if (init.handler === 0) cxl_memdev_probe_dc(ctx, init.memdev, init.cdat.staticBytes, init.cdat.sharable);

  const DRAINERS = ctx.host.memdevs.f.drainers;
  const drain = (): void => {
    ctx.host.memdevs.addRef(m, DRAINERS, 1); // once per interrupt: a ref (#17)
    try {
      drains += cxl_event_thread(ctx, init.memdev);
    } catch (e) {
      // A deadlock (H2) ends as a hung-wait report; a use-after-free (H5) as a stale handle. The
      // thread logs it and keeps serving so the run can end with the report, not a hang.
      if (e instanceof HungWaitError || e instanceof StaleHandleError || e instanceof SchedAbort) {
        ctx.dmesg('err', `mem${init.memdev}`, `event thread: ${e.message}`);
        unwound = true;
      } else throw e;
    } finally {
      ctx.host.memdevs.addRef(m, DRAINERS, -1);
    }
  };

  /**
   * After a drain: interrupts counted so far are all consumed when the status reads clear
   * afterwards (the device sets the status before it bumps the interrupt word), so the next wait
   * need not wake for them — a quiescent thread always waits on the current count, which keeps
   * the state a controlled run starts from deterministic.
   */
  const settled = (last: number): number => {
    const now = rf.irqCount();
    return (rf.eventStatus() & EVENT_STATUS_DCD) === 0 ? now : last;
  };

  // cxl_event_config() (drivers/cxl/pci.c): with BIOS owning the memory event logs (native_cxl
  // false, as modelled) and DCD disabled by C1–C4, no interrupt is requested and nothing is
  // drained — not at config time, not ever. The thread stays parked for the control plane only.
  const irq = ctx.host.memdevs.load(m, 'dcdSupported') === 1;
  if (!irq) ctx.dmesg('dbg', `mem${init.memdev}`, 'Event config : BIOS DCD not supported (no event interrupt)');

  if (irq) void (async () => {
    // read the interrupt count BEFORE draining: an interrupt raised during the drain changes it,
    // so the wait below returns at once instead of sleeping on a non-empty log
    let last = rf.irqCount();
    drain();
    last = settled(last);
    while (!stopped && !rf.stopped()) {
      // after an unwound drain, look again soon (its records are still in the log)
      const now = IRQ_DIRECT ? await rf.waitIrqDirect(last, unwound ? 5 : IRQ_SLICE_MS) : await rf.waitIrqAsync(last, unwound ? 5 : 250);
      if (stopped) break;
      if (now === last) {
        if (IRQ_DIRECT) await new Promise<void>((r) => setImmediate(r)); // read the control plane between slices
        // timeout or nudge: no interrupt. After an unwound drain the records it left would wait
        // for an interrupt that already fired (the kernel thread would still be stuck; the model
        // unwinds to end the run with a report) — drain them so the system reaches quiescence.
        if (unwound && (rf.eventStatus() & EVENT_STATUS_DCD) !== 0) {
          unwound = false;
          drain();
          last = settled(last);
        }
        continue;
      }
      unwound = false;
      last = now;
      drain();
      last = settled(last);
    }
  })().catch((e: unknown) => { setImmediate(() => { throw e; }); });

  return {
    ready: () => `event-thread mem${init.memdev}/${init.handler}`,
    stop: () => { stopped = true; },
    stats: () => ({ drains }),
  };
}

// ------------------------------------------------------------------------------ workqueue

/**
 * system_wq runs work items concurrently, on a pool of kworkers: one memdev's watchdog blocked on
 * its add_ctx.lock (H2) does not delay another memdev's. The model gives each memdev's
 * `timeout_work` its own kworker thread (`workqueue/memN`, `init.memdev`); a work item is never
 * run concurrently with itself, as in the kernel. Without `memdev` one thread serves every memdev
 * (the old single-thread workqueue, kept for tools that start one).
 *
 * Completion (what advance-clock and wait-idle read): each kworker records the kick it has fully
 * processed in its memdev's `wqDone`; SYS_WQ_DONE advances to a kick once every memdev's kworker
 * has processed it (the last one to finish publishes).
 */
export function startWorkqueue(init: SharedHandles & { memdev?: number }, sys: SystemShm): WorkqueueApi {
  const ctx = new HostCtx(init, sys);
  const T = ctx.host.memdevs;
  const mine = init.memdev === undefined ? Array.from({ length: ctx.host.nrMemdevs }, (_, i) => i) : [init.memdev];
  let stopped = false;
  let timeouts = 0;
  const publish = (kick: number): void => {
    for (const i of mine) T.store(ctx.host.memdev(i), 'wqDone', kick);
    for (let i = 0; i < ctx.host.nrMemdevs; i++) {
      if (((T.load(ctx.host.memdev(i), 'wqDone') - kick) | 0) < 0) return; // that kworker is behind
    }
    // every kworker has processed `kick` (or a later one): advance SYS_WQ_DONE, never backwards
    for (;;) {
      const cur = Atomics.load(sys.header, SYS_WQ_DONE);
      if (((kick - cur) | 0) <= 0) return;
      if (Atomics.compareExchange(sys.header, SYS_WQ_DONE, cur, kick) === cur) return;
    }
  };
  void (async () => {
    while (!stopped) {
      const kick = Atomics.load(sys.header, SYS_WQ_KICK);
      const now = ctx.clock.now();
      let next = Infinity;
      for (const i of mine) {
        const m = ctx.host.memdev(i);
        const gen = T.load(m, 'timeoutPending');
        if (!gen) continue;
        const due = T.get(m, 'timeoutDue');
        if (due > now) { next = Math.min(next, due - now); continue; }
        // dequeue (the work is no longer pending once it runs), then execute — only the expiry of
        // the generation read above: a mod_delayed_work since then published a new generation and
        // a later due time, and the kernel never runs a superseded expiry (mod_delayed_work)
        if (T.cas(m, 'timeoutPending', gen, 0) !== gen) continue;
        T.store(m, 'timeoutRunning', 1);
        try {
          cxl_dc_add_timeout(ctx, i);
          timeouts++;
        } catch (e) {
          if (e instanceof HungWaitError || e instanceof SchedAbort) ctx.dmesg('err', `mem${i}`, `workqueue: ${e.message}`);
          else throw e;
        } finally {
          T.store(m, 'timeoutRunning', 0);
        }
      }
      publish(kick);
      // controlled scheduling: park until the kick word moves and we are granted
      if (await blockSysAsync(SYS_WQ_KICK, OP_NE, kick)) continue;
      const wait = ctx.clock.virtual ? 500 : Math.max(1, Math.min(next, WQ_MAX_SLEEP_MS)); // mod_delayed_work relies on this bound (wqKickNeeded)
      await waitAsyncAlive(sys.header, SYS_WQ_KICK, kick, wait);
      if (Atomics.load(sys.header, SYS_WQ_KICK) !== kick) {
        if (schedControlled()) await blockSysAsync(SYS_WQ_KICK, 1, kick);
        else resumedSys(SYS_WQ_KICK);
      }
    }
  })().catch((e: unknown) => { setImmediate(() => { throw e; }); });
  return {
    ready: () => (init.memdev === undefined ? 'workqueue' : `workqueue/mem${init.memdev}`),
    stop: () => { stopped = true; Atomics.add(sys.header, SYS_WQ_KICK, 1); Atomics.notify(sys.header, SYS_WQ_KICK); },
    stats: () => ({ timeouts }),
  };
}

// ------------------------------------------------------------------------------ dax bus

function regionOrThrow(ctx: HostCtx, regionId: number): Handle {
  const r = ctx.host.regionById(regionId);
  if (r === NO_HANDLE) throw new CxlError('ENODEV', `no region${regionId}`);
  return r;
}

export function startDaxBus(init: SharedHandles, sys: SystemShm): DaxBusApi {
  const ctx = new HostCtx(init, sys);
  const h = ctx.host;
  const regionsFor = (regionId: number | null): Handle[] =>
    regionId === null ? [...h.regions.live()] : [regionOrThrow(ctx, regionId)];
  // the cxl_dax_region device exists only while the cxl_region driver is bound
  // (devm_cxl_add_dax_region .. cxlr_dax_unregister): a disabled region has nothing to bind
  // checked again under device_lock(cxlr_dax): a region disable marks the device dead there
  // (device_del's kill_device) before it unbinds; __driver_probe_device refuses a dead device
  const probeOne = (r: Handle): number => (h.regions.load(r, 'regionBound')
    ? withLock(h.regionLockFor(r), () => (h.regions.load(r, 'regionBound') ? cxl_dax_region_probe(ctx, r) : ENODEV)) : ENODEV);
  return {
    ready: () => 'dax-bus',
    async probe(regionId) {
      const res = op(ctx, () => {
        const r = regionOrThrow(ctx, regionId);
        // committing the region binds the cxl_region driver (cxl_region_probe, under
        // device_lock(cxlr)), whose device_add of cxlr_dax schedules the async dax probe
        const rc = withLock(h.cxlrLockFor(r), () => cxl_region_probe(ctx, r));
        return rc || probeOne(r);
      });
      return res.ok ? fromRc(res.value, `cxl_dax_region probe region${regionId}`) : res;
    },
    async unbindDriver(regionId) {
      const res = op(ctx, () => {
        for (const r of regionsFor(regionId)) {
          if (h.regions.load(r, 'regionBound')) withLock(h.regionLockFor(r), () => cxl_dax_region_unbind(ctx, r));
        }
      });
      return res.ok ? { ok: true, value: undefined } : res;
    },
    async bindDriver(regionId) {
      const res = op(ctx, () => {
        let rc = 0;
        // the driver core reports a failed probe ("probe of dax_regionX failed with error -16")
        // (a disabled region has no cxl_dax_region device: -ENODEV when named, skipped otherwise)
        for (const r of regionsFor(regionId)) if (regionId !== null || h.regions.load(r, 'regionBound')) rc = rc || probeOne(r);
        return rc;
      });
      return res.ok ? fromRc(res.value, 'bind cxl_dax_region') : res;
    },
  };
}

// ------------------------------------------------------------------------------ user (sysfs)

export function startUser(init: SharedHandles & { user: number }, sys: SystemShm): UserApi {
  const ctx = new HostCtx(init, sys);
  const h = ctx.host;
  // the sysfs lookup of daxX.Y: a walk of the bus's device list, no dax lock (another user may be
  // deleting its own device concurrently: the walk skips a record freed under it)
  const dev = (regionId: number, devId: number): Handle => {
    const d = dax_dev_by_name(ctx, regionOrThrow(ctx, regionId), `dax${regionId}.${devId}`);
    if (d === NO_HANDLE) throw new CxlError('ENODEV', `no dax${regionId}.${devId}`);
    return d;
  };
  // daxctl create-device [--uuid]: the user-space sequence lives beside the stores it writes
  // (src/dax/bus.ts daxctl_create_device, after ndctl daxctl/device.c do_create)
  const createDax = (regionId: number, uuid: string | null | undefined): { devId: number; name: string } => {
    const d = daxctl_create_device(ctx, regionOrThrow(ctx, regionId), uuid);
    const id = h.daxDevs.get(d, 'id');
    return { devId: id, name: `dax${regionId}.${id}` };
  };
  /** extent references this user holds (open extentX.Y attributes), by the plan's name */
  const held = new Map<string, ExtentHandle>();
  return {
    ready: () => `user${init.user}`,
    createRegion: async (memdev, size) => op(ctx, () => {
      const r = cxl_create_dc_region(ctx, memdev, size);
      const id = h.regions.get(r, 'id');
      return { regionId: id, name: `region${id}` };
    }),
    destroyRegion: async (regionId) => op(ctx, () => cxl_destroy_region(ctx, regionOrThrow(ctx, regionId))),
    disableRegion: async (regionId) => op(ctx, () => {
      const r = regionOrThrow(ctx, regionId);
      withLock(h.cxlrLockFor(r), () => cxl_region_disable(ctx, r));
    }),
    // echo 1 > dax_regionX/create: a 0-size device, the region's seed if none is set (create_store)
    createSeed: async (regionId) => op(ctx, () => {
      const d = create_store(ctx, regionOrThrow(ctx, regionId), '1');
      const id = h.daxDevs.get(d, 'id');
      return { devId: id, name: `dax${regionId}.${id}` };
    }),
    claimSeed: async (regionId, uuid) => op(ctx, () => {
      const r = regionOrThrow(ctx, regionId);
      const d = withRead(h.daxRegionRwsem, () => h.regions.get(r, 'seedDev'));
      if (d === NO_HANDLE || !h.daxDevs.isLive(d)) throw new CxlError('ENXIO', `region${regionId} has no seed device`);
      uuid_store(ctx, d, uuid === null ? '0' : uuid);
      enable_dev_dax(ctx, d, true);
      const id = h.daxDevs.get(d, 'id');
      return { devId: id, name: `dax${regionId}.${id}` };
    }),
    createDaxDevice: async (regionId, uuid) => op(ctx, () => createDax(regionId, uuid)),
    createDaxDeviceRounds: async (regionId, uuids, barrier, parties, timeoutMs) => {
      const words = new Int32Array(barrier, 0, BARRIER_WORDS);
      const out: OpResult<{ devId: number; name: string }>[] = [];
      for (let k = 0; k < uuids.length; k++) {
        if (!barrierArrive(words, k, parties, timeoutMs)) {
          // the other actors are gone: this round and the rest fail rather than wait forever
          while (out.length < uuids.length) out.push({ ok: false, errno: 'ETIMEDOUT', message: `round ${out.length}: the other ${parties - 1} actor(s) did not reach the barrier within ${timeoutMs} ms` });
          break;
        }
        out.push(op(ctx, () => createDax(regionId, uuids[k]!)));
      }
      return out;
    },
    destroyDaxDevice: async (regionId, devId) => op(ctx, () => daxctl_destroy_device(ctx, dev(regionId, devId))),
    // echo NAME > dax_regionX/delete
    deleteByName: async (regionId, name) => op(ctx, () => delete_store(ctx, regionOrThrow(ctx, regionId), name)),
    disableDaxDevice: async (regionId, devId) => op(ctx, () => enable_dev_dax(ctx, dev(regionId, devId), false)),
    enableDaxDevice: async (regionId, devId) => op(ctx, () => enable_dev_dax(ctx, dev(regionId, devId), true)),
    reconfigureDaxDevice: async (regionId, devId, size) => op(ctx, () => size_store(ctx, dev(regionId, devId), size)),
    // cat /sys/bus/dax/devices/daxR.D/mappingN/ATTR: the lookup walks the children (no lock), the
    // show runs inside the attribute's active reference (src/dax/mapping.ts dax_mapping_show)
    readMapping: async (regionId, devId, mapping, attr) => op(ctx, () => {
      const m = dax_mapping_by_id(ctx, dev(regionId, devId), mapping);
      if (m === NO_HANDLE) throw new CxlError('ENOENT', `no dax${regionId}.${devId}/mapping${mapping}`);
      return dax_mapping_show(ctx, m, attr);
    }),
    write: async (regionId, devId, offset, length, pattern) => op(ctx, () => dax_access(ctx, dev(regionId, devId), offset, length, pattern, true)),
    verify: async (regionId, devId, offset, length, pattern) => op(ctx, () => dax_access(ctx, dev(regionId, devId), offset, length, pattern, false)),
    holdExtent: async (regionId, index, key) => op(ctx, () => { held.set(key, cxl_extent_get(ctx, regionOrThrow(ctx, regionId), index)); }),
    putExtent: async (key) => op(ctx, () => {
      const e = held.get(key);
      if (e === undefined) throw new CxlError('ENOENT', `no extent reference held as "${key}"`);
      held.delete(key);
      cxl_extent_put(ctx, e);
    }),
  };
}
