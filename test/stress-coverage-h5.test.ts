// The H5 window on step orders (no threads): the teardown side is the cxl_dax_region teardown's
// devres point (`teardown`, NOISE_SITE.teardownWindow) of the dax-bus or a user — the teardown has
// no dc_extents walk step of its own — between two steps of an event thread's release walk
// (`dc-walk`). Before this was matched the window was reached by its order once in 952 swarm
// iterations while its outcome showed in 20 (bench:find, rcu=off).
import t from 'tap';
import { iterationCoverage } from '../stress/coverage.js';
import { NOISE_SITE } from '../src/shm/sched.js';
import type { TraceStep } from '../stress/turnstile.js';

const walk = (who: string): TraceStep => ({ who, what: 'noise', arg: `site${NOISE_SITE.dcWalk}` });
const teardown = (who: string): TraceStep => ({ who, what: 'noise', arg: `site${NOISE_SITE.teardownWindow}` });

t.test('H5: a teardown action between two steps of a release walk is the use-after-free order', async (t) => {
  t.equal(iterationCoverage([walk('irq/mem0'), teardown('dax-bus'), walk('irq/mem0')], []).windows.H5, 'ab', 'walk, teardown, walk: ab');
  t.equal(iterationCoverage([walk('irq/mem0'), teardown('user1'), walk('irq/mem0')], []).windows.H5, 'ab', 'a user destroy too');
  t.equal(iterationCoverage([teardown('dax-bus'), walk('irq/mem1')], []).windows.H5, 'ba', 'the walk only after the teardown began: ba');
  t.equal(iterationCoverage([walk('irq/mem0'), walk('irq/mem0'), teardown('dax-bus')], []).windows.H5, undefined, 'the walk done before the teardown: not reached');
  t.equal(iterationCoverage([walk('irq/mem0'), teardown('irq/mem0'), walk('irq/mem0')], []).windows.H5, undefined, "the event thread's own H14 point is not a teardown");
  t.equal(iterationCoverage([walk('irq/mem0'), walk('dax-bus'), walk('irq/mem0')], []).windows.H5, undefined, "a probe scan's walk (dc-walk by the dax-bus) is not a teardown");
});
