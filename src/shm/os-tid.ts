/**
 * DOC: the calling thread's Linux task id, for the scheduler accounting the bench reads
 * (src/runtime/thread-stats.ts). Node has no API for it; `/proc/thread-self` links to
 * `PID/task/TID` for the thread that reads it. 0 off Linux or when /proc is not mounted.
 */
import { readlinkSync } from 'node:fs';

export function osThreadId(): number {
  try {
    const m = /\/task\/(\d+)$/.exec(readlinkSync('/proc/thread-self'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
