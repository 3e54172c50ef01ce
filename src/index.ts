/**
 * DOC: the library API of cxl-dcd-model — what `dcd run` itself uses, for users who write their
 * own concurrency assertions in their own tests (README "Library API").
 *
 *   const sys = await DcdSystem.start({ memdevs: [...], variant: 'v11', knobs: {...}, device: 'qemu', clock: 'virtual', seed: 1 });
 *   await sys.createRegion(0, null);            // cxl create-region + the async dax probe
 *   await sys.device(0).call((fm) => fm.injectRecords([...]));   // the fabric manager (u64 fields: bigint past 2^53)
 *   await sys.user(1).call((u) => u.createDaxDevice(0, tag));    // a sysfs writer
 *   await sys.waitIdle(); await sys.advanceClock(20_000);
 *   const state = await sys.state();            // the state paths of README.md
 *   const results = await sys.check();          // checkers attached with sys.addChecker()
 *   await sys.stop();
 */
export { DcdSystem, sleep, type Checker, type SystemConfig, type DeviceApi } from './runtime/system.js';
export { runScenario, runScenarioOn, startScenarioSystem, type RunOptions, type RunResult, type StepResult } from './runtime/scenario-runner.js';
export { parseScenario, validateScenario, type ParseScenarioResult, type ScenarioError } from './scenario/validate.js';
export { evaluateExpect, resolvePath, type ExpectResult } from './scenario/match.js';
export { resolveKnobs, KNOWN_KNOBS, DEFAULT_KNOBS, VARIANT_KNOBS } from './scenario/knobs.js';
export { toPerfetto } from './runtime/perfetto.js';
export { WorkerCrash } from './runtime/spawn.js';
export { CxlError, HungWaitError, LockMisuseError, LockNotHeldError, StaleHandleError, type Errno, type HungReport } from './errors.js';
export type { RuntimeEvent, DecodedEvent, OpResult, UserApi, DaxBusApi } from './protocol.js';
export type * from './state.js';
export type { Scenario, Step, MemdevSpec, Knobs, KnobValues, Variant, Device, U64 } from './scenario/types.js';
/** the FM API's record shapes: `injectRecords` takes u64 offsets and lengths (a bigint past 2^53−1) */
export type { InjectRecord, InjectU64Record, AddCapacityOk, FmResult } from './device/types.js';
export type { Personality } from './device/config.js';
