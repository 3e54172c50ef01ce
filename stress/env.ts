/**
 * DOC: the stress tool's A/B switches read from the environment (`DCD_SYNC_GRANT_WAIT_MS`,
 * `DCD_OP_START_WAIT_MS`, `DCD_SCHED_POLL_MS`, `DCD_IDLE_POLL_MS`; docs/performance.md and
 * docs/finding.md say what each turns off). A value that is not a non-negative number is refused
 * by name when the module loads, instead of silently becoming NaN (a wait that never sleeps).
 */

/** `process.env[name]` as milliseconds (a non-negative number), or `dflt` when unset or empty. */
export function envMs(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}=${v}: expected a non-negative number of milliseconds`);
  return n;
}
