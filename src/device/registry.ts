/**
 * DOC: the personality registry — the one place that maps a personality name to its class.
 *
 * The device (device.ts) asks it for a personality by name and hands the new one its
 * `DeviceContext`; it never names a class. A new personality is a class implementing
 * `DevicePersonality` (personality-api.ts; `BasePersonality` in personality.ts has the mock's
 * defaults) and one row here (plus its name in config.ts `PERSONALITIES`).
 */
import type { Personality } from './config.js';
import { CxlTestPersonality } from './cxl-test.js';
import { HostilePersonality } from './hostile.js';
import type { DeviceContext, DevicePersonality, PersonalityFactory } from './personality-api.js';
import { QemuPersonality } from './qemu.js';

const REGISTRY: Readonly<Record<Personality, PersonalityFactory>> = {
  qemu: (ctx) => new QemuPersonality(ctx),
  'qemu-tag-rfc': (ctx) => new QemuPersonality(ctx),
  'cxl-test': (ctx) => new CxlTestPersonality(ctx),
  hostile: (ctx) => new HostilePersonality(ctx),
};

/** The personality `name` for the device behind `ctx` (the name is validated by config.ts). */
export function createPersonality(name: Personality, ctx: DeviceContext): DevicePersonality {
  const make = REGISTRY[name];
  if (!make) throw new RangeError(`unknown device personality ${JSON.stringify(name)}`);
  return make(ctx);
}
