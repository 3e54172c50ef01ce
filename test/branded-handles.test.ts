// Branded table handles (issue 16, point 2): an extent, tag-group or dax_resource handle does not
// type-check where another table's handle is wanted. The fixture's MISUSE lines must each fail,
// and nothing else in it may.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURE = 'test/fixtures/branded-handles.ts.txt';

t.test('a handle of one host table does not type-check as another table\'s', async (t) => {
  const text = readFileSync(join(ROOT, FIXTURE), 'utf8').replaceAll('@SRC@', join(ROOT, 'src'));
  const dir = mkdtempSync(join(tmpdir(), 'dcd-brand-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'branded-handles.ts');
  writeFileSync(file, text);
  const lines = text.split('\n');
  const misuse = lines.flatMap((l, i) => (/\/\/ MISUSE/.test(l) ? [i + 1] : []));
  t.ok(misuse.length >= 8, `the fixture has ${misuse.length} misuse lines`);
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--skipLibCheck', '--target', 'ES2022', '--module', 'NodeNext',
    '--moduleResolution', 'NodeNext', '--lib', 'ES2024', '--types', 'node', '--typeRoots', join(ROOT, 'node_modules/@types'), file], { cwd: ROOT, encoding: 'utf8' });
  const errLines = [...new Set([...r.stdout.matchAll(/branded-handles\.ts\((\d+),\d+\): error TS\d+/g)].map((m) => Number(m[1])))].sort((a, b) => a - b);
  t.same(errLines, misuse, 'tsc fails on exactly the misuse lines');
  const other = r.stdout.split('\n').filter((l) => /error TS/.test(l) && !/branded-handles\.ts\(/.test(l));
  t.same(other, [], 'and nowhere else');
});
