/**
 * DOC: `dcd help [COMMAND]` — the usage from args.ts's `COMMANDS` table plus the lists a user
 * picks from, each read from the table the code runs: knobs (scenario/knobs.ts `KNOWN_KNOBS`, with
 * their v11 defaults), device personalities and variants (scenario/spec.ts), for run the scenario
 * ops (scenario/spec.ts `OPS`), and for stress the workloads (stress/workloads.ts `WORKLOADS`, loaded only for that topic). Nothing here is a copy,
 * so help cannot list a knob or workload the parser refuses, nor miss one it accepts.
 */

import { COMMANDS, USAGE, item, type Command } from './args.js';
import { DEFAULT_KNOBS, KNOWN_KNOBS, VARIANT_KNOBS } from '../scenario/knobs.js';
import { DEVICE_DESCRIPTIONS, EXPECT_DESCRIPTION, OPS, PARALLEL_DESCRIPTION, VARIANT_DESCRIPTIONS } from '../scenario/spec.js';
import type { KnobName } from '../scenario/types.js';

function section(title: string, rows: Array<[string, string]>): string[] {
  const w = Math.max(...rows.map(([n]) => n.length)) + 2;
  return ['', title, ...rows.map(([n, d]) => item(n, w, d))];
}

/** What a run, stress or bench can be configured with. */
export function hostLists(): string[] {
  const presets = (name: KnobName): string => {
    const by = Object.entries(VARIANT_KNOBS).filter(([, k]) => name in k).map(([v, k]) => `${v}: ${String(k[name])}`);
    return `default ${String(DEFAULT_KNOBS[name])}${by.length ? ` (${by.join(', ')})` : ''}`;
  };
  return [
    ...section('variants (--variant NAME, scenario "variant"):', Object.entries(VARIANT_DESCRIPTIONS)),
    ...section('device personalities (--device NAME, scenario "device"):', Object.entries(DEVICE_DESCRIPTIONS)),
    ...section('knobs (--knob NAME=VALUE, repeatable; scenario "knobs"):',
      (Object.keys(KNOWN_KNOBS) as KnobName[]).map((k) => [k, `${KNOWN_KNOBS[k].accepts}, ${presets(k)}: ${KNOWN_KNOBS[k].description}`])),
  ];
}

/** The steps a scenario file can hold, each with its required fields (`dcd help run`). */
export function opLines(): string[] {
  const rows: Array<[string, string]> = Object.entries(OPS).map(([op, o]) => {
    const req = Object.keys(o.fields).filter((f) => o.fields[f]?.required);
    return [op, `${req.length ? `(${req.join(', ')}) ` : ''}${o.description}`];
  });
  rows.push(['expect', EXPECT_DESCRIPTION], ['parallel', PARALLEL_DESCRIPTION]);
  return section('scenario ops (FILE.json "steps"; every field in schema/scenario.schema.json):', rows);
}

export interface WorkloadLine { name: string; description: string }

/** The help text of a topic; `workloads` are listed under stress. */
export function helpText(topic: Command | undefined, workloads: WorkloadLine[] = []): string {
  if (topic === undefined) return [USAGE.global, ...hostLists()].join('\n');
  const out = [USAGE[topic]];
  if (topic === 'run') out.push(...opLines());
  if (topic === 'stress') out.push(...section('workloads (--workload NAME):', workloads.map((w) => [w.name, w.description])));
  if (COMMANDS[topic].host) out.push(...hostLists());
  return out.join('\n');
}

/** `helpText` with the workloads loaded when the topic lists them. */
export async function help(topic: Command | undefined): Promise<string> {
  if (topic !== 'stress') return helpText(topic);
  const { WORKLOADS } = await import('../../stress/workloads.js');
  return helpText(topic, Object.entries(WORKLOADS).map(([name, w]) => ({ name, description: w.description })));
}
