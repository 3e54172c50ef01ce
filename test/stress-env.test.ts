// The stress tool's A/B switches from the environment (stress/env.ts): a bad value is refused by
// name instead of becoming NaN (a wait that never sleeps), an unset or empty one is the default.
import t from 'tap';
import { envMs } from '../stress/env.js';

t.test('envMs', async (t) => {
  const name = 'DCD_TEST_ENV_MS';
  delete process.env[name];
  t.equal(envMs(name, 0.25), 0.25, 'unset: the default');
  process.env[name] = '';
  t.equal(envMs(name, 2), 2, 'empty: the default');
  process.env[name] = '0';
  t.equal(envMs(name, 2), 0, '0 (the A/B\'s off) is taken');
  process.env[name] = '1.5';
  t.equal(envMs(name, 2), 1.5, 'a fraction of a millisecond is taken');
  for (const bad of ['abc', '-1', 'Infinity', '1ms']) {
    process.env[name] = bad;
    t.throws(() => envMs(name, 2), new RegExp(`${name}=${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: expected a non-negative number`), `${bad}: refused by name`);
  }
  delete process.env[name];
});
