/**
 * DOC: which kernel function a schedule step or a runtime event models — the static map that
 * lets `dcd explain`, titles and reports speak the kernel's names (docs/kernel-map.md#functions).
 *
 * A schedule step is a thread passing an instrumented point (a lock acquisition, a named noise
 * site, the start of a sysfs/driver-core op, a resumed wait) and then running until its next
 * point. The point and the thread's role name the function in most cases (`add_ctx.lock` taken
 * by an event-interrupt thread is `handle_add_event`; by the dax-bus worker it is the probe's
 * `__cxl_process_extent_list`); where one lock is taken by several functions of one thread
 * (`cxl_tag_lock`: `cxl_tag_already_committed`, `cxl_tag_register`, `cxl_tag_unregister`) the
 * runtime events the step emitted decide. Keyed on point names, lock class names and event types,
 * never on outcome names, so the map survives outcome renames.
 */
import { UAF_SITE, type RuntimeEvent } from '../src/protocol.js';
import { opcodeName } from '../src/wire/cxl.js';

export type Role = 'irq' | 'workqueue' | 'bus' | 'user' | 'device' | 'main' | 'actor';

export function roleOfThread(who: string): Role {
  if (who.startsWith('actor:')) return 'actor';
  if (who.startsWith('irq/')) return 'irq';
  if (who.startsWith('device/')) return 'device';
  if (who === 'workqueue') return 'workqueue';
  if (who === 'dax-bus') return 'bus';
  if (who === 'main') return 'main';
  return 'user';
}

/** How a thread is introduced in a column header: its kernel context. */
export function threadTitle(who: string): string {
  const r = roleOfThread(who);
  if (r === 'irq') return `${who} (cxl_event_thread, ${who.slice(4).split('.')[0]})`;
  if (r === 'workqueue') return 'kworker (system_wq)';
  if (r === 'bus') return 'dax bus (driver core)';
  if (r === 'user') return `${who} (user space: sysfs)`;
  if (r === 'device') return `${who} (device)`;
  if (who.startsWith('actor:fm/')) return `FM (${who.slice(9)})`;
  if (who === 'actor:clock') return 'clock';
  return who.replace(/^actor:/, '');
}

/** The thread an actor's op runs on (user and bus ops on their worker; FM/clock on the main thread). */
export function actorThread(actor: string): string {
  const a = actor.replace(/^actor:/, '');
  if (a.startsWith('user')) return a;
  if (a === 'dax-bus') return 'dax-bus';
  return `actor:${a}`;
}

/** The kernel function of a runtime event, by the thread that emitted it. */
export function eventFunction(ev: RuntimeEvent, who: string): string {
  const role = roleOfThread(who);
  switch (ev.type) {
    case 'dc-record': return 'cxl_handle_dcd_event_records';
    case 'mbox': {
      const op = opcodeName(ev.opcode);
      if (/add.*response/i.test(op)) return 'cxl_send_dc_response';
      if (/release/i.test(op)) return 'memdev_release_extent';
      if (/clear/i.test(op)) return 'cxl_clear_event_record';
      if (/get.*event/i.test(op)) return 'cxl_mem_get_records_log';
      if (/extent.?list/i.test(op)) return '__cxl_process_extent_list';
      return 'cxl_internal_send_cmd';
    }
    case 'chain-closed': return ev.byTimeout ? 'cxl_dc_add_timeout' : 'cxl_add_pending';
    case 'response':
    case 'response-extent': return 'cxl_send_dc_response';
    case 'group-dropped': return 'cxl_validate_group';
    case 'chain-dropped': return 'handle_add_event';
    // emitted where the extentX.Y device registers: online_tag_group (after cxl_add_extent)
    case 'extent-tracked': return 'online_tag_group';
    case 'extent-untracked': return 'dc_extent_release';
    case 'region-teardown': return role === 'bus' ? 'cxl_dax_region_remove' : 'cxlr_dax_unregister';
    // a mapping device indexing its trimmed range (H28): the action itself, in whoever ran it
    case 'use-after-free': return ev.site === UAF_SITE.daxMappingStale ? 'unregister_dax_mapping' : role === 'bus' || role === 'user' ? 'cxlr_dax_unregister' : 'cxl_rm_extent';
    case 'tag-registered': return 'cxl_tag_register';
    case 'tag-unregistered': return 'cxl_tag_unregister';
    case 'dax-group': return ev.add ? 'dax_region_add_resources' : 'dax_region_rm_resources';
    case 'claim': return 'uuid_store';
    case 'release-outcome': return 'cxl_rm_extent';
    case 'data': return 'dax_access';
    case 'scan-done': return 'cxl_region_add_existing_extents';
    case 'region-probe': return 'cxl_dax_region_alloc';
    case 'lock-hold': return '';
    // group->nr_extents-- (dc_extent_release's last put) or ++ (online_tag_group, rm_tag_group)
    case 'lost-update': return ev.wrote < ev.read ? 'dc_extent_release' : 'online_tag_group';
  }
}

/** The sysfs store / driver-core entry an actor op begins in (user and dax-bus workers). */
export function opFunction(op: string): string {
  const o = op.split(' ')[0] ?? op;
  switch (o) {
    case 'claim': return 'uuid_store';
    case 'destroy-dax': return 'delete_store';
    case 'resize': return 'size_store';
    case 'write':
    case 'verify': return 'dax_access';
    case 'hold-extent': return 'get_device';
    case 'put-extent': return 'put_device';
    case 'delete-extent-name': return 'delete_store';
    case 'read-mapping': return 'start_show';
    case 'create-region': return 'create_dynamic_ram_1_region_store';
    case 'destroy-region': return 'delete_region_store';
    case 'bind':
    case 'probe': return 'cxl_dax_region_probe';
    case 'unbind': return 'cxl_dax_region_remove';
    case 'add': return 'FM Initiate Dynamic Capacity Add';
    case 'release': return 'FM Initiate Dynamic Capacity Release';
    case 'advance': return 'clock advance';
    default: return o;
  }
}

/** noise sites (src/shm/sched.ts NOISE_SITE) → the function whose racy window they mark */
const NOISE_FN: Record<string, { irq?: string; other: string; window: string }> = {
  site1: { other: 'cxl_handle_dcd_event_records', window: 'one DC record about to be handled' },
  site2: { other: 'cxl_tag_register', window: 'between the registry check and the insert' },
  site3: { irq: 'online_tag_group', other: 'dc_extent_release', window: "group->nr_extents read-modify-write (not atomic)" },
  site4: { irq: 'cxl_rm_extent', other: 'cxlr_dax_unregister', window: 'walking cxlr_dax->dc_extents (no RCU)' },
  site5: { other: 'dax_region_add_resources', window: 'between two members of one DAX group add' },
  site8: { other: 'device_for_each_child', window: 'a DAX-bus child walk holds an extent device (its put can be the last)' },
};

export function noiseWindow(arg: string): string {
  return NOISE_FN[arg]?.window ?? 'a racy window';
}

/**
 * The kernel function one step runs in: `who` passes point `what` (`arg`), `events` are what it
 * emitted until its next point, `op` is the op the thread is executing (user / bus workers).
 */
export function stepFunction(who: string, what: string, arg: string, events: readonly RuntimeEvent[], op: string | null): string {
  const role = roleOfThread(who);
  const has = (t: RuntimeEvent['type']): RuntimeEvent | undefined => events.find((e) => e.type === t);
  if (role === 'actor') return opFunction(what);
  if (what === 'op-start') return opFunction(op ?? '');
  if (what === 'fm-start') return 'FM command (device)';
  if (what === 'clock') return 'clock advance';
  if (what === 'noise') {
    const n = NOISE_FN[arg];
    if (!n) return 'instrumented point';
    // the nr_extents put: after a member's release (release path, teardown, a user's last put),
    // or the pin drop at the end of online_tag_group (add path); `op` carries the record kind
    if (arg === 'site3' && (has('extent-untracked') || role !== 'irq' || op === 'release-record')) return 'dc_extent_release';
    if (arg === 'site5') { const g = has('dax-group'); if (g && g.type === 'dax-group' && !g.add) return 'dax_region_rm_resources'; }
    return role === 'irq' && n.irq ? n.irq : n.other;
  }
  if (what === 'resume' || (what === 'acquire' && arg.startsWith('mbox_mutex'))) {
    if (has('response')) return 'cxl_send_dc_response';
    const m = has('mbox');
    if (m && role === 'irq') return eventFunction(m, who);
  }
  if (what === 'resume') {
    if (role === 'irq') return /pred2\d{5}/.test(arg) && arg.endsWith('07') ? 'cxl_event_thread' : 'cxl_internal_send_cmd';
    if (role === 'workqueue') return 'cxl_dc_add_timeout';
    return 'wait';
  }
  if (what !== 'acquire') return what;
  const cls = arg.replace(/\((read|write)\)$/, '');
  const read = arg.endsWith('(read)');
  switch (cls) {
    case 'event.log_lock': return 'cxl_mem_get_records_log';
    case 'add_ctx.lock': return role === 'workqueue' ? 'cxl_dc_add_timeout' : role === 'bus' ? '__cxl_process_extent_list' : 'handle_add_event';
    case 'cxl_rwsem.region':
      if (!read) return op === 'destroy-region' ? 'unregister_region' : 'cxl_create_dc_region';
      if (role === 'user') return 'cxl_extent_get';
      if (has('release-outcome') || has('extent-untracked')) return 'cxl_rm_extent';
      return 'cxl_add_extent';
    case 'cxl_rwsem.dpa': return 'cxl_dpa_alloc';
    case 'cxl_tag_lock':
      if (has('tag-registered')) return 'cxl_tag_register';
      if (has('tag-unregistered')) return 'cxl_tag_unregister';
      return 'cxl_tag_already_committed';
    case 'device_lock(cxlr)': return 'unregister_region';
    case 'device_lock(cxlr_dax)':
      if (role === 'bus') return op === 'unbind' ? 'cxl_dax_region_remove' : 'cxl_dax_region_probe';
      return 'cxlr_notify_extent';
    case 'device_lock(dev_dax)': return 'delete_store';
    case 'dax_region_rwsem': {
      const g = has('dax-group');
      if (g && g.type === 'dax-group') return g.add ? 'dax_region_add_resources' : 'dax_region_rm_resources';
      if (role === 'user') return opFunction(op ?? 'claim');
      if (role === 'bus') return op === 'unbind' ? 'cxl_dax_region_remove' : 'cxl_dax_region_probe';
      if (has('extent-untracked')) return 'dax_release_resource';
      return 'cxl_dax_region_notify';
    }
    case 'dax_dev_rwsem': return role === 'user' ? opFunction(op ?? 'claim') : 'cxl_dax_region_remove';
    // kernfs active references (src/dax/kernfs.ts): a read is the store's own kernfs_get_active,
    // a write the drain of the attribute's removal
    case 'kn->active(create)': case 'kn->active(delete)': case 'kn->active(seed)': case 'kn->active(available_size)':
      return read ? ({ create: 'create_store', delete: 'delete_store', seed: 'seed_show', available_size: 'available_size_show' } as Record<string, string>)[cls.slice(11, -1)] ?? cls : 'dax_region_unregister';
    case 'kn->active(uuid)': case 'kn->active(size)':
      return read ? (cls === 'kn->active(uuid)' ? 'uuid_store' : 'size_store') : 'unregister_dev_dax';
    // a mappingN attribute: the show's reference; the drain is device_del(mapping) —
    // dev_dax_shrink's unregister_dax_mapping in a user, or a teardown's devres
    case 'kn->active(start)': case 'kn->active(end)': case 'kn->active(page_offset)':
      return read ? ({ start: 'start_show', end: 'end_show', page_offset: 'pgoff_show' } as Record<string, string>)[cls.slice(11, -1)] ?? cls : role === 'user' ? 'dev_dax_shrink' : 'unregister_dax_mapping';
    case 'mbox_mutex': {
      const m = has('mbox');
      return m ? eventFunction(m, who) : 'cxl_internal_send_cmd';
    }
    case 'xa_lock': {
      for (const e of events) { const f = eventFunction(e, who); if (f) return f; }
      return 'xa_insert/xa_erase';
    }
    default: return cls;
  }
}
