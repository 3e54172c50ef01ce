// piscina task: run one stress job (a slice of a sweep) in a pool thread. See stress/sweep.ts.
import { runJob, type JobTask } from './sweep.js';

export default async function task(t: JobTask): Promise<unknown> {
  return runJob(t);
}
