/**
 * DOC: the state view — the host tables and the devices' own answers rendered as the state
 * paths of README.md (what `cxl list -M -R -N` / `daxctl list -R -D -i` would show).
 * Called with the host's read locks held, so the snapshot is consistent.
 */
import type { HostCtx } from '../host/context.js';
import type { DecodedEvent } from '../protocol.js';
import { NULL_UUID, opcodeName, rcName } from '../wire/cxl.js';
import type { ExtentView as DeviceExtentViewRaw, EventLogView, PendingGroupView } from '../device/types.js';
import type { MemdevSpec } from '../scenario/types.js';
import type { DaxDeviceView, DaxListDeviceView, DcEventTraceEntry, MailboxTraceEntry, MemdevView, RegionView, SystemState } from '../state.js';
import { available_size, daxDevsOf, rangesOf, uuid_show } from '../dax/bus.js';
import { cxlr_dax_gen } from '../cxl/region.js';
import { NO_HANDLE } from '../shm/table.js';

export interface DeviceSnapshot {
  accepted: DeviceExtentViewRaw[];
  pending: PendingGroupView[];
  log: EventLogView;
  generation: number;
}

const DC_EVENT_LABELS = ['ADD_CAPACITY', 'RELEASE_CAPACITY', 'FORCED_CAPACITY_RELEASE', 'REGION_CONFIGURATION_UPDATED', 'ADD_CAPACITY_RESPONSE', 'CAPACITY_RELEASED'];

/**
 * The mailbox and DC-record traces of a run. Response ranges are partition-relative (like every
 * other device-side offset in the state): each Add DC Response part lists the `response-extent`
 * entries its thread emitted for it, in order; a Release DC carries one range.
 */
export function traceFromEvents(events: readonly DecodedEvent[], memdevNames: string[], dcBases: number[] = []): { mailbox: MailboxTraceEntry[]; dynamicCapacityEvents: DcEventTraceEntry[] } {
  const mailbox: MailboxTraceEntry[] = [];
  const dynamicCapacityEvents: DcEventTraceEntry[] = [];
  /** per thread: ranges of the logical response being sent, not yet given to a part */
  const listed = new Map<number, { offset: number; length: number }[]>();
  for (const { ev, thread } of events) {
    if (ev.type === 'response-extent') {
      let q = listed.get(thread);
      if (!q) { q = []; listed.set(thread, q); }
      q.push({ offset: ev.dpa - (dcBases[ev.memdev] ?? 0), length: ev.len });
    } else if (ev.type === 'response') {
      listed.delete(thread);
    } else if (ev.type === 'mbox') {
      const opcode = opcodeName(ev.opcode);
      // the log records every command; Get/Clear Event Records are kept (they are commands too)
      const e: MailboxTraceEntry = { memdev: memdevNames[ev.memdev] ?? `mem${ev.memdev}`, opcode, nrExtents: ev.nrExtents, rc: rcName(ev.rc) };
      if (opcode === 'ADD_DC_RESPONSE' || opcode === 'RELEASE_DC') {
        e.more = ev.more === 1;
        const q = opcode === 'ADD_DC_RESPONSE' ? listed.get(thread) : undefined;
        if (q && q.length >= ev.nrExtents) e.extents = q.splice(0, ev.nrExtents);
        else if (ev.nrExtents > 0) e.extents = [{ offset: ev.dpa - (dcBases[ev.memdev] ?? 0), length: ev.len }];
      }
      mailbox.push(e);
    } else if (ev.type === 'dc-record') {
      dynamicCapacityEvents.push({
        memdev: memdevNames[ev.memdev] ?? `mem${ev.memdev}`, eventType: DC_EVENT_LABELS[ev.eventType] ?? `UNKNOWN_${ev.eventType}`,
        hostId: ev.hostId, updatedRegionIndex: ev.regionIndex, dpaStart: ev.dpa, length: ev.len, uuid: ev.uuid,
        shExtentSeq: ev.seq, more: ev.more === 1,
      });
    }
  }
  return { mailbox, dynamicCapacityEvents };
}

export function snapshotState(ctx: HostCtx, specs: MemdevSpec[], devices: DeviceSnapshot[], events: readonly DecodedEvent[]): SystemState {
  const h = ctx.host;
  const regions: Record<string, RegionView> = {};
  const daxDevices: Record<string, DaxDeviceView> = {};
  const memdevs: Record<string, MemdevView> = {};
  // why a memdev runs without DCD: the probe logs it (cxl_memdev_probe_dc) and keeps no other record
  const disabled = new Map<string, string>();
  for (const l of ctx.dmesgLog.read<{ level: string; dev: string; msg: string }>()) {
    if (l.msg.startsWith('DCD disabled: ')) disabled.set(l.dev, l.msg.slice('DCD disabled: '.length));
  }
  specs.forEach((spec, i) => {
    const m = h.memdev(i);
    const d = devices[i];
    const dcd = h.memdevs.load(m, 'dcdSupported') === 1;
    const base = spec.dc.base;
    memdevs[spec.name] = {
      name: spec.name,
      serial: spec.serial,
      dcdSupported: dcd,
      ...(!dcd && disabled.has(`mem${i}`) ? { dcdDisabledReason: disabled.get(`mem${i}`)! } : {}),
      dynamicRam1Size: dcd ? h.memdevs.get(m, 'partSize') : 0,
      decoderMode: dcd ? 'dynamic_ram_1' : 'none',
      sharable: dcd && h.memdevs.get(m, 'shareable') === 1,
      accepted: (d?.accepted ?? []).map((e) => ({ offset: e.dpa - base, length: e.length, tag: e.tag, seq: e.seq })),
      pending: (d?.pending ?? []).flatMap((g) => g.extents.map((e) => ({ offset: e.dpa - base, length: e.length, tag: e.tag, seq: e.seq }))),
      generation: d?.generation ?? 0,
      eventLog: { queued: d?.log.queued ?? 0, overflow: d?.log.overflow ?? 0 },
    };
  });
  const R = h.regions;
  const regionList = [...R.live()].sort((a, b) => R.get(a, 'id') - R.get(b, 'id'));
  for (const r of regionList) {
    const id = R.get(r, 'id');
    const name = `region${id}`;
    const memdev = R.get(r, 'memdev');
    const partBase = h.memdevs.get(h.memdev(memdev), 'partBase');
    const X = h.extents;
    // dax_regionN's extents: the current cxl_dax_region instance's (a re-probe's new instance
    // never shows the extents H14 left on the one it replaced, cxl_dax_region_alloc)
    const gen = cxlr_dax_gen(ctx, r);
    const extents = [...X.live()]
      .filter((e) => X.get(e, 'region') === r && X.get(e, 'registered') && X.get(e, 'daxGen') === gen)
      .sort((a, b) => X.get(a, 'id') - X.get(b, 'id'))
      .map((e) => ({ offset: X.get(e, 'hpaOffset'), length: X.get(e, 'length'), uuid: X.getUuid(e, 'uuid'), name: `extent${id}.${X.get(e, 'id')}`, seq: X.get(e, 'seq') }));
    const devs = daxDevsOf(ctx, r);
    const seedDev = R.get(r, 'seedDev');
    const seed = seedDev !== NO_HANDLE && h.daxDevs.isLive(seedDev) ? `dax${id}.${h.daxDevs.get(seedDev, 'id')}` : '';
    const listed: DaxListDeviceView[] = [];
    for (const dv of devs) {
      const dname = `dax${id}.${h.daxDevs.get(dv, 'id')}`;
      const size = h.daxDevs.get(dv, 'size');
      const enabled = h.daxDevs.get(dv, 'enabled') === 1;
      const uuid = uuid_show(ctx, dv);
      const align = R.get(r, 'daxAlign');
      daxDevices[dname] = {
        name: dname, region: name, size, uuid,
        ranges: rangesOf(ctx, dv).map((g) => ({ offset: h.daxRanges.get(g, 'start'), length: h.daxRanges.get(g, 'length') })),
        enabled, align, seed: dname === seed,
      };
      // daxctl list -D -i (util_daxctl_dev_to_json): "state": "disabled" only when unbound
      listed.push({ name: dname, chardev: dname, size, align, mode: 'devdax', ...(enabled ? {} : { state: 'disabled' as const }), uuid });
    }
    regions[name] = {
      name, memdev: specs[memdev]?.name ?? `mem${memdev}`, mode: 'dynamic_ram_1', size: R.get(r, 'size'),
      hpaStart: R.get(r, 'hpaStart'), dpaOffset: R.get(r, 'edDpaStart') - partBase, extents,
      availableSize: R.load(r, 'daxRegion') ? available_size(ctx, r) : 0,
      daxDevices: listed, seed,
      driverBound: R.load(r, 'driverBound') === 1, extentsScanned: R.load(r, 'extentsScanned') === 1,
    };
  }
  const trace = traceFromEvents(events, specs.map((s) => s.name), specs.map((s) => s.dc.base));
  return {
    regions, daxDevices, memdevs,
    trace: { ...trace, log: ctx.dmesgLog.read<{ level: string; dev: string; msg: string }>().map((l) => `${l.level} ${l.dev}: ${l.msg}`) },
    ops: {},
    checks: [],
  };
}

export { NULL_UUID };
