/**
 * DOC: the observable state of a run — the contract of README.md "State paths".
 *
 * This is what `dcd run --json` prints as its final state and what `expect` steps read.
 * Sizes and offsets are numbers of bytes (the matcher compares size strings like "64M" by value).
 * Host-side offsets (region extents, dax ranges) are relative to the region; device-side offsets
 * (memdevs.<m>.accepted / pending) are relative to the DC partition start.
 * Field names are a published contract: add freely, rename nothing.
 */

export { NULL_UUID } from './wire/cxl.js';

export interface ExtentView {
  offset: number;
  length: number;
  /** tag; the null UUID when untagged */
  uuid: string;
  /** sysfs-like name, e.g. "extent0.1" */
  name?: string;
  seq?: number;
}

export interface RangeView {
  offset: number;
  length: number;
}

export interface DaxDeviceView {
  /** e.g. "dax0.1" */
  name: string;
  region: string;
  size: number;
  /** the tag of the first tagged range, else the null UUID (v11); "0" under the v10 knob */
  uuid: string;
  ranges: RangeView[];
  enabled: boolean;
  /** dev_dax->align: the region's alignment (PMD_SIZE) */
  align?: number;
  /** the region's `seed` attribute names this device */
  seed?: boolean;
  /** scenario alias (`as`), when one was bound */
  alias?: string;
}

/**
 * One element of `regions.<r>.daxDevices`: a device as `daxctl list -r R -D -i` prints it
 * (ndctl daxctl/json.c util_daxctl_dev_to_json: chardev, size, align, mode, and "state":
 * "disabled" only when no driver is bound), plus `name` (= chardev, so `contains: {"name": …}`
 * finds a device) and the device's `uuid` attribute. Idle (0-size) devices are listed, as `-i`
 * lists them.
 */
export interface DaxListDeviceView {
  name: string;
  chardev: string;
  size: number;
  align: number;
  mode: 'devdax';
  state?: 'disabled';
  uuid: string;
}

export interface RegionView {
  /** e.g. "region0" */
  name: string;
  memdev: string;
  mode: 'dynamic_ram_1';
  size: number;
  /** HPA base of the region (model address space) */
  hpaStart: number;
  /** DPA start of the endpoint decoder, relative to the DC partition */
  dpaOffset: number;
  extents: ExtentView[];
  availableSize: number;
  /** the dax devices of this region as `daxctl list -r R -D -i` prints them (idle ones included),
   *  in id order */
  daxDevices: DaxListDeviceView[];
  /** the dax_region `seed` attribute: the device `daxctl create-device` configures next; "" when
   *  none (the probe's own device is never the seed; enabling the seed clears it) */
  seed: string;
  driverBound: boolean;
  extentsScanned: boolean;
  /** scenario alias (`as`), when one was bound */
  alias?: string;
}

export interface DeviceExtentView {
  offset: number;
  length: number;
  /** null when untagged */
  tag: string | null;
  seq: number;
}

export interface MemdevView {
  name: string;
  serial: number;
  dcdSupported: boolean;
  /** why DCD was disabled at probe (C1–C4), when it was */
  dcdDisabledReason?: string;
  /** `memX/dynamic_ram_1/size` */
  dynamicRam1Size: number;
  decoderMode: 'dynamic_ram_1' | 'none';
  sharable: boolean;
  /** the device's own accepted list, as Get DC Extent List returns it */
  accepted: DeviceExtentView[];
  /** offered (sent) extents awaiting an Add DC Response, grouped as the device holds them */
  pending: DeviceExtentView[];
  generation: number;
  eventLog: { queued: number; overflow: number };
}

export interface MailboxTraceEntry {
  memdev: string;
  opcode: string; // "ADD_DC_RESPONSE" | "RELEASE_DC" | "GET_DC_CONFIG" | "GET_DC_EXTENT_LIST" | "GET_EVENT_RECORDS" | "CLEAR_EVENT_RECORDS"
  nrExtents: number;
  /** the mailbox return code name ("SUCCESS", "INVALID_PA", …) */
  rc: string;
  /** for ADD_DC_RESPONSE / RELEASE_DC: whether the More flag was set on this part */
  more?: boolean;
  extents?: RangeView[];
}

export interface DcEventTraceEntry {
  memdev: string;
  eventType: string; // "ADD_CAPACITY" | "RELEASE_CAPACITY" | "FORCED_CAPACITY_RELEASE" | "REGION_CONFIGURATION_UPDATED" | …
  hostId: number;
  updatedRegionIndex: number;
  dpaStart: number;
  length: number;
  uuid: string;
  shExtentSeq: number;
  more: boolean;
}

export interface OpOutcome {
  ok: boolean;
  error: string | null;
}

export interface CheckerResult {
  invariant: string;
  ok: boolean;
  class: 'acceptable' | 'forbidden' | 'known-hazard';
  detail?: string;
}

export interface SystemState {
  regions: Record<string, RegionView>;
  daxDevices: Record<string, DaxDeviceView>;
  memdevs: Record<string, MemdevView>;
  trace: {
    mailbox: MailboxTraceEntry[];
    dynamicCapacityEvents: DcEventTraceEntry[];
    log: string[];
  };
  ops: Record<string, OpOutcome>;
  checks: CheckerResult[];
}
