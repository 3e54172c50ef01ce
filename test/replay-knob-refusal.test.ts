// A trace whose plan holds an extent device across time (hold-extent) replays only under the
// NOT-v11 knob extent-refs=user (docs/fidelity-holders.md). With the knob stripped, `dcd replay`
// refuses it as bad input — exit 2, the knob named — instead of dying on an unhandled rejection
// (what it did when the refusal escaped the turnstile's op-start wait). With the knob, it replays.
import t from 'tap';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../src/cli/main.js';

const src = join(import.meta.dirname, '..', 'docs/findings-open/swarm-released-unaccepted-1-1323.trace.json');
const dir = mkdtempSync(join(tmpdir(), 'dcd-knob-refusal-'));

t.test('without extent-refs=user: exit 2, the knob named', async (t) => {
  const tr = JSON.parse(readFileSync(src, 'utf8')) as { knobs: Record<string, string> };
  t.equal(tr.knobs['extent-refs'], 'user', 'the stored trace carries the knob');
  delete tr.knobs['extent-refs'];
  const file = join(dir, 'noknob.trace.json');
  writeFileSync(file, JSON.stringify(tr));
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(['replay', file], { out: (s) => out.push(s), err: (s) => err.push(s) });
  t.equal(code, 2, 'exit 2 (bad input)');
  t.match(err.join('\n'), /hold-extent .* needs --knob extent-refs=user/, 'the refusal names the knob');
});

t.test('with the knob: the same trace replays', async (t) => {
  const out: string[] = [];
  const code = await runCli(['replay', src], { out: (s) => out.push(s), err: (s) => out.push(s) });
  t.not(code, 2, `not refused (exit ${code})`);
  t.match(out.join('\n'), /followed all \d+ recorded steps|REPRODUCED/, 'it ran the recorded interleaving');
});
