// CxlError is an expected errno outcome (op() turns it into { ok: false, errno, message }): it
// captures no stack unless DCD_ERROR_STACKS=1 (src/errors.ts, docs/performance.md, "Eleventh session: swarm iterations"). Bugs keep
// theirs. The switch is read when src/errors.ts loads, so its "on" side runs in a child process.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { CxlError, LockMisuseError, StaleHandleError, Errors } from '../src/errors.js';

const frames = (e: Error): number => (e.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l)).length;

t.test('default: a CxlError carries errno and message but no stack frames; bugs keep theirs', async (t) => {
  const limit = Error.stackTraceLimit;
  const e = new CxlError('EBUSY', 'the device is enabled');
  t.equal(e.errno, 'EBUSY');
  t.equal(e.message, 'EBUSY: the device is enabled');
  t.ok(e instanceof Error && e instanceof CxlError, 'still an Error and a CxlError');
  t.equal(frames(e), 0, `no frames captured: ${JSON.stringify(e.stack)}`);
  t.match(String(e.stack), /EBUSY: the device is enabled/, 'the stack string still names the error');
  t.equal(frames(Errors.errno('ENXIO', 'x')), 0, 'the factory too');
  t.equal(Error.stackTraceLimit, limit, 'Error.stackTraceLimit restored after construction');
  t.ok(frames(new LockMisuseError('cls', 'double unlock')) > 0, 'LockMisuseError keeps its stack');
  t.ok(frames(new StaleHandleError('extents', 3)) > 0, 'StaleHandleError keeps its stack');
  t.ok(frames(new Error('plain')) > 0, 'a plain Error after a CxlError still has its stack');
});

t.test('DCD_ERROR_STACKS=1: CxlError captures its stack again', async (t) => {
  const src = new URL('../src/errors.ts', import.meta.url).href;
  const code = `const { CxlError } = await import(${JSON.stringify(src)}); const e = new CxlError('EBUSY', 'x'); console.log((e.stack ?? '').split('\\n').filter((l) => /^\\s+at /.test(l)).length);`;
  const run = (env: Record<string, string>): number => Number(execFileSync(process.execPath, ['--import=tsx', '--input-type=module', '-e', code], { env: { ...process.env, ...env }, encoding: 'utf8' }).trim());
  const on = run({ DCD_ERROR_STACKS: '1' });
  const off = run({ DCD_ERROR_STACKS: '' });
  t.ok(on > 0, `with the switch: ${on} frames`);
  t.equal(off, 0, 'without it: none');
});
