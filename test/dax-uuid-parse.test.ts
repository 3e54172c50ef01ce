// uuid_store's parsing as v11 writes it (drivers/dax/bus.c uuid_store: sysfs_streq(buf, "0") for
// the null uuid, else lib/uuid.c uuid_parse → uuid_is_valid): exactly the first 36 characters are
// checked ('-' at 8, 13, 18, 23, a hex digit of either case elsewhere); what follows them is
// ignored; anything else is -EINVAL, before any lock. daxctl parses --uuid itself first (libuuid:
// exactly 36 characters), so a malformed --uuid never reaches sysfs.
import t from 'tap';
import { CxlError } from '../src/errors.js';
import { create_store, dax_bind, uuid_parse, uuid_store } from '../src/dax/bus.js';
import { M, TAG_A, TAG_B, addChain, chain, region, withSystem } from './sys-helpers.js';

function errnoOf(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (e instanceof CxlError) return e.errno;
    throw e;
  }
}

t.test('uuid_parse (lib/uuid.c)', async (t) => {
  t.equal(uuid_parse(TAG_A), TAG_A);
  t.equal(uuid_parse('ABCDEF01-2345-6789-ABCD-EF0123456789'), 'abcdef01-2345-6789-abcd-ef0123456789', 'upper case hex, canonical lower case');
  t.equal(uuid_parse(`${TAG_A}\n`), TAG_A, 'sysfs newline ignored');
  t.equal(uuid_parse(`${TAG_A}-and-more`), TAG_A, 'anything after 36 characters is ignored');
  t.equal(uuid_parse(` ${TAG_A}`), null, 'leading whitespace: not valid');
  t.equal(uuid_parse(TAG_A.slice(0, 35)), null, '35 characters');
  t.equal(uuid_parse(TAG_A.replace(/-/g, '')), null, 'no hyphens');
  t.equal(uuid_parse('1111111-11111-1111-1111-111111111111'), null, 'hyphen in the wrong place');
  t.equal(uuid_parse('g1111111-1111-1111-1111-111111111111'), null, 'not hex');
  t.equal(uuid_parse('{11111111-1111-1111-1111-111111111111}'), null, 'braces');
});

await withSystem(t, { users: 1 }, async (s) => {
  await region(s);
  const rh = s.host.regionById(0);
  await addChain(s, 0, chain([0, 4 * M], 2 * M, TAG_A));
  await addChain(s, 0, chain([16 * M], 2 * M, TAG_B));
  await addChain(s, 0, [{ offset: 32 * M, length: 2 * M, tag: null }]);

  await t.test('uuid_store parses as uuid_parse', async (t) => {
    const d1 = create_store(s.ctx, rh, '1');
    t.equal(errnoOf(() => uuid_store(s.ctx, d1, ` ${TAG_A}`)), 'EINVAL', 'leading space → EINVAL');
    t.equal(errnoOf(() => uuid_store(s.ctx, d1, ' 0')), 'EINVAL', '" 0" is not "0" (sysfs_streq), and not a uuid');
    t.equal(errnoOf(() => uuid_store(s.ctx, d1, '00')), 'EINVAL', '"00" neither');
    t.equal(errnoOf(() => uuid_store(s.ctx, d1, `${TAG_A.toUpperCase()}xyz`)), 'ok', 'upper case with a suffix: claims TAG_A');
    dax_bind(s.ctx, d1); // d1 was the seed (the first create): enabling it clears the seed
    const d2 = create_store(s.ctx, rh, '1');
    t.equal(errnoOf(() => uuid_store(s.ctx, d2, '0\n')), 'ok', '"0\\n" claims an untagged extent');
    dax_bind(s.ctx, d2); // the next seed (create_store set it when d1's enable cleared it)
    const d3 = create_store(s.ctx, rh, '1');
    t.equal(errnoOf(() => uuid_store(s.ctx, d3, '00000000-0000-0000-0000-000000000000')), 'ENOENT', 'the null uuid spelled out is "0": no untagged extent left');
    const st = await s.state();
    const byName = (n: number): { size: number; uuid: string } => st.daxDevices[`dax0.${s.host.daxDevs.get(n, 'id')}`]!;
    t.match(byName(d1), { size: 4 * M, uuid: TAG_A });
    t.match(byName(d2), { size: 2 * M });
  });

  await t.test('daxctl rejects a malformed --uuid before writing create', async (t) => {
    const before = (await s.state()).regions.region0!.daxDevices.length;
    for (const bad of ['not-a-uuid', `${TAG_B}x`, ` ${TAG_B}`]) {
      const r = await s.user(0).call((a) => a.createDaxDevice(0, bad));
      t.equal(!r.ok && r.errno, 'EINVAL', JSON.stringify(bad));
    }
    t.equal((await s.state()).regions.region0!.daxDevices.length, before, 'no device was created');
    const ok = await s.user(0).call((a) => a.createDaxDevice(0, TAG_B.toUpperCase()));
    t.ok(ok.ok, `upper case is fine (daxctl writes it back in lower case) ${ok.ok ? '' : ok.message}`);
  });
});
