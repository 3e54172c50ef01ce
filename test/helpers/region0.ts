// A quiescent one-region state and the host tables the extents checker reads, shared by the
// tests that judge hand-built event sequences (test/stress-findings-open*.test.ts).
import type { SystemState } from '../../src/state.js';
import type { SysLike } from '../../stress/checkers/index.js';
import { MiB } from '../../src/units.js';
import { NULL_UUID } from '../../src/wire/cxl.js';

/** region0 on mem0 (512 MiB, dynamic_ram_1), its tracked extents untagged, the scan done */
export function region0State(extents: { offset: number; length: number }[], availableSize: number): SystemState {
  return {
    regions: {
      region0: {
        name: 'region0', memdev: 'mem0', mode: 'dynamic_ram_1', size: 512 * MiB, hpaStart: 4096 * MiB, dpaOffset: 0, availableSize,
        extents: extents.map((x, i) => ({ ...x, uuid: NULL_UUID, name: `extent0.${i + 1}`, seq: 0 })), daxDevices: [], seed: '', driverBound: true, extentsScanned: true,
      },
    },
    daxDevices: {},
    memdevs: {
      mem0: {
        name: 'mem0', serial: 0, dcdSupported: true, dynamicRam1Size: 512 * MiB, decoderMode: 'dynamic_ram_1', sharable: false,
        accepted: [], pending: [], generation: 0, eventLog: { queued: 0, overflow: 0 },
      },
    },
    trace: { mailbox: [], dynamicCapacityEvents: [], log: [] }, ops: {}, checks: [],
  };
}

/** host tables with region `handle` at DPA `base`: the checker resolves a state extent to its device range */
export function region0Host(handle: number, base: number): SysLike {
  return {
    host: {
      regions: {
        live: () => [handle],
        isLive: (h: number) => h === handle,
        get: (_h: number, f: string) => ({ id: 0, edDpaStart: base, size: 512 * MiB, memdev: 0 } as Record<string, number>)[f] ?? 0,
      },
    },
  } as unknown as SysLike;
}
