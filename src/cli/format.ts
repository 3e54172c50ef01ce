/**
 * DOC: the human-readable final state printed by `dcd run` (without `--json`).
 *
 * Laid out the way a kernel developer already reads it: memdevs as `cxl list -M` shows them
 * (dynamic_ram_1 size, decoder mode, plus the device's own accepted/pending lists, which no
 * real tool shows but the model can), regions and their extents as `cxl list -R -N`
 * (`extentX.Y offset/length/uuid`, host-side offsets relative to the region), DAX devices as
 * `daxctl list -R -D -i` (size, uuid, ranges), then the mailbox log, one line per command,
 * the op outcomes and the checks. Sizes print as sysfs does (`%#llx`, e.g. `0x4000000`) with the
 * human form beside, so numbers can be pasted against real sysfs output and still be read.
 */

import type { CheckerResult, DeviceExtentView, SystemState } from '../state.js';
import { NULL_UUID } from '../state.js';
import { formatHex, formatSize } from '../scenario/units.js';

/** `0x4000000 (64M)`; small exact values stay readable: `0x0`. */
export function sizeText(bytes: number): string {
  const human = formatSize(bytes);
  return bytes === 0 ? '0x0' : `${formatHex(bytes)} (${human})`;
}

function tagText(tag: string | null): string {
  return tag === null || tag === NULL_UUID ? 'untagged' : tag;
}

function deviceExtent(e: DeviceExtentView): string {
  return `dpa+${formatHex(e.offset)} length ${sizeText(e.length)} tag ${tagText(e.tag)} seq ${e.seq}`;
}

/**
 * The checks table's mark, by what the result does to the run: `FAIL` only for a forbidden outcome
 * (the one that makes `dcd run` exit 1); a known hazard of v11 seen in a passing run is `HAZARD`;
 * a non-ok result of the acceptable class (a checker outside the standard set may report one) is
 * `allowed`.
 */
export function checkLabel(c: Pick<CheckerResult, 'ok' | 'class'>): 'ok' | 'HAZARD' | 'FAIL' | 'allowed' {
  if (c.ok) return 'ok';
  return c.class === 'forbidden' ? 'FAIL' : c.class === 'known-hazard' ? 'HAZARD' : 'allowed';
}

function section(title: string, lines: string[], empty = '(none)'): string[] {
  return [`${title}:`, ...(lines.length === 0 ? [`  ${empty}`] : lines)];
}

export function formatState(state: SystemState): string {
  const out: string[] = [];

  const memdevs: string[] = [];
  for (const [key, m] of Object.entries(state.memdevs)) {
    const head = [
      `  ${m.name}${key !== m.name ? ` (${key})` : ''}`,
      `serial ${formatHex(m.serial)}`,
      `dynamic_ram_1 size ${sizeText(m.dynamicRam1Size)}`,
      `decoder mode ${m.decoderMode}`,
      m.sharable ? 'sharable' : 'not sharable',
      m.dcdSupported ? 'dcd on' : `dcd off${m.dcdDisabledReason !== undefined ? ` (${m.dcdDisabledReason})` : ''}`,
      `generation ${m.generation}`,
    ];
    memdevs.push(head.join('  '));
    memdevs.push(`    accepted (${m.accepted.length}):`);
    for (const e of m.accepted) memdevs.push(`      ${deviceExtent(e)}`);
    memdevs.push(`    pending (${m.pending.length}):`);
    for (const e of m.pending) memdevs.push(`      ${deviceExtent(e)}`);
    memdevs.push(`    event log: ${m.eventLog.queued} queued, ${m.eventLog.overflow} overflowed`);
  }
  out.push(...section('memdevs', memdevs));

  const regions: string[] = [];
  for (const [key, r] of Object.entries(state.regions)) {
    if (key !== r.name && state.regions[r.name] === r) continue; // an alias entry of a listed region
    const alias = r.alias ?? (key !== r.name ? key : undefined);
    regions.push([
      `  ${r.name}${alias !== undefined ? ` (${alias})` : ''}`,
      `memdev ${r.memdev}`,
      `mode ${r.mode}`,
      `size ${sizeText(r.size)}`,
      `available_size ${sizeText(r.availableSize)}`,
      r.driverBound ? 'cxl_dax_region bound' : 'cxl_dax_region unbound',
      r.extentsScanned ? 'extents scanned' : 'extents not scanned',
    ].join('  '));
    regions.push(`    extents (${r.extents.length}):`);
    r.extents.forEach((e, i) => {
      const name = e.name ?? `extent?.${i}`;
      const seq = e.seq !== undefined ? `  seq ${e.seq}` : '';
      regions.push(`      ${name}  offset ${formatHex(e.offset)}  length ${sizeText(e.length)}  uuid ${tagText(e.uuid)}${seq}`);
    });
    regions.push(`    dax devices: ${r.daxDevices.length === 0 ? '(none)' : r.daxDevices.map((d) => d.name).join(', ')}${r.seed ? `  (seed ${r.seed})` : ''}`);
  }
  out.push(...section('regions', regions));

  const daxes: string[] = [];
  for (const [key, d] of Object.entries(state.daxDevices)) {
    if (key !== d.name && state.daxDevices[d.name] === d) continue; // an alias entry of a listed device
    const alias = d.alias ?? (key !== d.name ? key : undefined);
    daxes.push([
      `  ${d.name}${alias !== undefined ? ` (${alias})` : ''}`,
      `region ${d.region}`,
      `size ${sizeText(d.size)}`,
      `uuid ${d.uuid}`,
      d.enabled ? 'enabled' : 'disabled',
    ].join('  '));
    for (const r of d.ranges) daxes.push(`    range offset ${formatHex(r.offset)} length ${sizeText(r.length)}`);
  }
  out.push(...section('dax devices', daxes));

  const mbox = state.trace.mailbox.map((c, i) => {
    const more = c.more !== undefined ? `  more ${c.more ? 1 : 0}` : '';
    return `  ${String(i).padStart(4)}  ${c.memdev}  ${c.opcode}  nrExtents ${c.nrExtents}  rc ${c.rc}${more}`;
  });
  out.push(...section(`mailbox (${state.trace.mailbox.length} commands)`, mbox));

  const events = state.trace.dynamicCapacityEvents;
  if (events.length > 0) {
    const byType = new Map<string, number>();
    for (const e of events) byType.set(e.eventType, (byType.get(e.eventType) ?? 0) + 1);
    out.push(`cxl_dynamic_capacity events: ${events.length} (${[...byType].map(([k, n]) => `${k} ${n}`).join(', ')})`);
  }

  const ops = Object.entries(state.ops).map(([id, o]) => `  ${id}: ${o.ok ? 'ok' : `failed ${o.error ?? ''}`.trimEnd()}`);
  if (ops.length > 0) out.push(...section('ops', ops));

  const checks = state.checks.map((c) => `  ${checkLabel(c).padEnd(6)}  ${c.invariant}  [${c.class}]${c.detail !== undefined ? `  ${c.detail}` : ''}`);
  out.push(...section('checks', checks));

  return out.join('\n') + '\n';
}
