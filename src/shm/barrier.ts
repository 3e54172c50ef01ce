/**
 * DOC: a round barrier in shared memory, for races run back to back inside the workers.
 *
 * jcstress-style batched workloads (two-claims-x16) line their actors up before every round.
 * Done from the main thread, each round costs every actor a control-plane round trip (a message
 * in, a reply out: two event-loop wakes per actor); done here, the actors meet on one word and the
 * last to arrive wakes the others with one futex notify. Word 0 counts arrivals over all rounds:
 * round k is open once it reaches parties × (k + 1).
 */

/** Words a barrier needs. */
export const BARRIER_WORDS = 1;

/** Spins on the word before sleeping on it (the other actor is usually a few µs behind). */
const BARRIER_SPIN = 2000;

/**
 * Arrive at round `round` (0-based) of a barrier shared by `parties` threads and wait until all
 * have arrived. False when they had not within `timeoutMs` (an actor that died or never came):
 * the caller reports it instead of hanging.
 */
export function barrierArrive(words: Int32Array, round: number, parties: number, timeoutMs: number): boolean {
  const target = parties * (round + 1);
  const now = Atomics.add(words, 0, 1) + 1;
  if (now >= target) {
    Atomics.notify(words, 0);
    return true;
  }
  for (let i = 0; i < BARRIER_SPIN; i++) if (Atomics.load(words, 0) >= target) return true;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = Atomics.load(words, 0);
    if (v >= target) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    Atomics.wait(words, 0, v, Math.min(left, 50));
  }
}
