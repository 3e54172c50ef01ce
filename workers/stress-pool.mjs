// piscina entry when running from TypeScript sources: register tsx in the pool thread (a Node 20
// worker does not inherit the parent's loader), then hand over to stress/pool-task.ts.
import { register } from 'tsx/esm/api';

register();
const mod = await import(new URL('../stress/pool-task.ts', import.meta.url).href);
export default mod.default;
