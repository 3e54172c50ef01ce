/**
 * DOC: the device worker's control-plane API as the runtime sees it — the device service
 * (src/device/service.ts) plus two calls that save the main thread a round trip each:
 *
 *  - `reads()`: the four state reads a check needs (accepted extents, pending groups, the event
 *    log, the generation) in one message, read in one synchronous turn of the device's loop;
 *  - `fmSteps(steps)`: a fabric-manager actor's commands run one after another inside the device
 *    worker, each through the service's own FM method (so each is still one `fmStart` point in
 *    the step log and a cxl-test call still waits for the host's drain of its records before the
 *    next one starts), instead of one main-thread round trip per command. Free runs only: under the
 *    controlled scheduler the turnstile issues each FM command itself.
 *
 * The FM commands are the fabric manager's, not the host's: batching them changes no kernel path,
 * only how soon after a drain the FM's next command arrives (the way a script of back-to-back
 * `echo … > dc_inject_extent` writes would, without a main-thread hop between them).
 */
import type { DeviceService } from '../device/service.js';
import type { InjectU64Record } from '../device/types.js';
import type { HostileChainKind } from '../device/hostile-kinds.js';
import type { DeviceSnapshot } from './view.js';

/** One FM command of a batch (stress/ops.ts `add`, `release`, `hostile`). */
export type FmStep =
  | { op: 'add'; records: InjectU64Record[] }
  | { op: 'release'; extents: { offset: number; length: number; tag: string | null }[]; forced?: boolean }
  | { op: 'hostile'; kind: HostileChainKind };

export type FmStepResult = { ok: true } | { ok: false; errno: string };

export interface DeviceExtras {
  /** the device's part of a state snapshot (DcdSystem.state), one message */
  reads(): DeviceSnapshot;
  /** run the FM commands in order, each after the previous one resolved (see DOC) */
  fmSteps(steps: FmStep[]): Promise<FmStepResult[]>;
}

export type DeviceApi = DeviceService & DeviceExtras;

/** The device worker's API: `service` (its FM methods already recorded as steps) plus the extras. */
export function deviceApi(service: DeviceService): DeviceApi {
  const extras: DeviceExtras = {
    reads: () => ({ accepted: service.accepted(), pending: service.pending(), log: service.eventLog(), generation: service.generation() }),
    async fmSteps(steps) {
      const out: FmStepResult[] = [];
      for (const s of steps) {
        const r = s.op === 'add' ? await service.injectRecords(s.records)
          : s.op === 'release' ? await service.releaseCapacity({ policy: 'prescriptive', extents: s.extents, ...(s.forced ? { forced: true } : {}) })
            : service.hostileInject(s.kind);
        out.push(r.ok ? { ok: true } : { ok: false, errno: r.errno });
      }
      return out;
    },
  };
  return Object.assign(service, extras);
}
