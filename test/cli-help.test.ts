// dcd help: generated from the tables the parser and the runtime use, so it lists every command,
// option, knob, device personality, variant and (for stress) workload — each derived here from its
// source table, so a name missing from the help fails this test — and every flag it shows parses.
import t from 'tap';
import { runCli, type CliIo } from '../src/cli/main.js';
import { COMMANDS, SUBCOMMANDS, parseArgs, type Command } from '../src/cli/args.js';
import { KNOWN_KNOBS } from '../src/scenario/knobs.js';
import { DEVICES, KNOWN_OPS, VARIANTS } from '../src/scenario/types.js';
import { WORKLOADS } from '../stress/workloads.js';

async function help(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (s) => out.push(s), err: (s) => err.push(s) };
  const code = await runCli(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** The help text with wrapped lines joined back, so a description can be matched whole. */
const unwrap = (s: string): string => s.replace(/\n {4,}/g, ' ');
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

t.test('dcd help lists the commands, the knobs, the device personalities and the variants', async (t) => {
  const r = await help(['help']);
  t.equal(r.code, 0);
  t.equal(r.err, '');
  const text = unwrap(r.out);
  for (const c of SUBCOMMANDS) t.match(text, new RegExp(`^  ${c}\\b`, 'm'), `command ${c}`);
  const knobs = Object.entries(KNOWN_KNOBS);
  for (const [name, k] of knobs) t.match(text, new RegExp(`^  ${escape(name)} +${escape(k.accepts)}, default .+: ${escape(k.description)}$`, 'm'), `knob ${name}, a line with its values, default and description`);
  for (const d of DEVICES) t.match(text, new RegExp(`^  ${escape(d)} {2,}\\S`, 'm'), `device ${d}`);
  for (const v of VARIANTS) t.match(text, new RegExp(`^  ${escape(v)} {2,}\\S`, 'm'), `variant ${v}`);
  t.comment(`${knobs.length} knobs, ${DEVICES.length} personalities, ${VARIANTS.length} variants`);
  const same = await help(['--help']);
  t.equal(same.out, r.out, 'dcd --help is the same text');
});

t.test('dcd help stress lists every workload with its description, and the stress flags', async (t) => {
  const r = await help(['help', 'stress']);
  t.equal(r.code, 0);
  const text = unwrap(r.out);
  const names = Object.keys(WORKLOADS);
  t.ok(names.length >= 10, `${names.length} workloads`);
  for (const [name, w] of Object.entries(WORKLOADS)) t.match(text, new RegExp(`^  ${escape(name)} +${escape(w.description)}$`, 'm'), `workload ${name}`);
  for (const f of Object.keys(COMMANDS.stress.options)) t.match(text, new RegExp(`^  --${f}\\b`, 'm'), `flag --${f}`);
  t.match(text, /^  tag-lock +on\|off/m, 'and the knobs stress accepts');
  t.same((await help(['stress', '--help'])).out, r.out, 'dcd stress --help is the same text');
});

t.test('dcd help run lists every scenario op', async (t) => {
  const r = await help(['help', 'run']);
  t.equal(r.code, 0);
  const ops = [...KNOWN_OPS];
  for (const op of ops) t.match(r.out, new RegExp(`^  ${escape(op)} {2,}\\S`, 'm'), `op ${op}`);
  t.comment(`${ops.length} ops`);
});

t.test('each command\'s help shows exactly the flags its parser accepts', async (t) => {
  let flags = 0;
  for (const c of Object.keys(COMMANDS) as Command[]) {
    const r = await help(['help', c]);
    t.equal(r.code, 0, `dcd help ${c}`);
    t.match(r.out, new RegExp(`^usage: dcd ${c}\\b`));
    const shown = [...r.out.matchAll(/^ {2}--([a-z-]+)/gm)].map((m) => m[1] ?? '');
    t.same(shown, Object.keys(COMMANDS[c].options), `${c}: the option lines are the table's`);
    for (const f of shown) {
      // every shown flag parses (its error, if any, is about its value or the arguments, not the flag)
      const p = parseArgs([c, `--${f}`]);
      t.notMatch(p.kind === 'usage-error' ? p.message : '', /unknown flag/, `dcd ${c} --${f} is a known flag`);
      flags++;
    }
  }
  t.comment(`${flags} flags over ${Object.keys(COMMANDS).length} commands`);
});
