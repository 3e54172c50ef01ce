// Every example in scenarios/ runs green through `dcd run` (runCli), shard 3 of 3 (see
// test/helpers/scenario-files.ts; the other shards are in test/scenarios*.test.ts).
import t from 'tap';
import { runShard } from './helpers/scenario-files.js';

t.setTimeout(360_000); // ~6 runs of the whole worker topology: ~30 s idle, minutes on a loaded machine

await runShard(t, 2);
