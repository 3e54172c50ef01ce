// The device ↔ personality contract (issue 16.3): the device calls personalities only through the
// DevicePersonality hooks (src/device/personality-api.ts) and builds them through the registry;
// no personality imports device.ts (not even its types) or reaches into the device's fields.
import t from 'tap';
import { MiB } from '../src/units.js';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PERSONALITIES } from '../src/device/config.js';
import { createPersonality } from '../src/device/registry.js';
import { DcdDevice } from '../src/device/device.js';
import type { DeviceContext } from '../src/device/personality-api.js';

const DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../src/device');
const PERSONALITY_FILES = ['personality.ts', 'qemu.ts', 'cxl-test.ts', 'hostile.ts', 'registry.ts', 'personality-api.ts'];
/** every relative specifier a module names in an import or export-from, type-only ones included */
const specifiers = (file: string): string[] =>
  [...readFileSync(join(DIR, file), 'utf8').matchAll(/^[ \t]*(?:import|export)\b[^;]*?from\s*['"](\.{1,2}\/[^'"]+)['"]/gms)].map((m) => m[1]!);

t.test('no personality module imports device.ts', async (t) => {
  for (const f of PERSONALITY_FILES) t.notOk(specifiers(f).includes('./device.js'), `${f} does not import ./device.js`);
  t.equal(readdirSync(DIR).filter((f) => f.endsWith('.ts') && f !== 'service.ts' && f !== 'device.ts' && specifiers(f).includes('./device.js')).length, 0,
    'in src/device only service.ts imports device.ts');
});

t.test('device.ts reaches personalities only through the interface and the registry', async (t) => {
  const deps = specifiers('device.ts');
  for (const f of ['./personality.js', './qemu.js', './cxl-test.js', './hostile.js']) t.notOk(deps.includes(f), `device.ts does not import ${f}`);
  t.ok(deps.includes('./personality-api.js') && deps.includes('./registry.js'), 'it imports personality-api.ts and registry.ts');
});

t.test('the registry builds every configured personality, each seeing only the context it is given', async (t) => {
  const M = MiB;
  for (const p of PERSONALITIES) {
    const dev = new DcdDevice({
      name: 'mem0', serial: 1, personality: p, seed: 'api', payloadSize: 2048, staticBytes: 256 * M,
      partitions: [{ base: 256 * M, decodeLength: 256 * M, length: 256 * M, blockSize: 2 * M, dsmadHandle: 0, sharable: false }], preAccepted: [],
    });
    t.equal(dev.p.name, p, `${p}: the device got the named personality`);
    t.equal(dev.p.hostile !== null, p === 'hostile', `${p}: hostile hooks only on the hostile personality`);
    // the context the device hands its personality: methods, plus the immutable config, the name
    // and the extent store (an object with its own methods); no counters, queue, PRNG or log
    const ctx = (dev as unknown as { context(): DeviceContext }).context();
    const data = Object.entries(ctx).filter(([, v]) => typeof v !== 'function').map(([k]) => k).sort();
    t.same(data, ['config', 'extents', 'name'], `${p}: the context's only non-method members`);
    t.equal(createPersonality(p, ctx).name, p, `${p}: the registry builds it from a context alone`);
  }
});
