import { StressJob } from './stress/runner.js';
const seed = process.argv[2] ?? '23';
const knobs = process.argv[3] ? { [process.argv[3]]: process.argv[4] } as any : {};
const job = new StressJob({ workload: 'swarm', variant: 'v11', knobs, device: 'cxl-test', seed, schedule: { kind: 'free' }, noise: false, outDir: '/tmp/finding/traces-v11' });
const t0 = performance.now();
const counts = new Map<string, number>();
let n = 0;
for (let i = 0; performance.now() - t0 < Number(process.env.SECS ?? 60) * 1000; i++) {
  const r = await job.iteration(i);
  n++;
  for (const o of r.outcomes ?? []) counts.set(o, (counts.get(o) ?? 0) + 1);
  if (r.class === 'forbidden') console.log('FORBIDDEN', i, r.schedule ?? 'free', r.focus, r.outcomes, r.detail, r.trace);
}
console.log(n, 'iterations', JSON.stringify(Object.fromEntries(counts)));
await job.close();
