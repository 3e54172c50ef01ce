/**
 * DOC: memory through a DAX device — what a user mapping /dev/daxX.Y touches.
 *
 * A device offset walks the device's ranges in pgoff order to an HPA offset in the region, which
 * (interleave 1) is a DPA in the region's endpoint decoder; the access then goes to the device
 * media, which refuses DPA not backed by an accepted extent (QEMU's MEMTX_ERROR, R25). An access
 * beyond the device's size — or after its ranges were trimmed or released — fails with ENXIO.
 * Ranges are read under dax_dev_rwsem (read), so a concurrent trim cannot tear a walk.
 */
import { withRead } from '../shm/lock.js';
import { CxlError } from '../errors.js';
import type { HostCtx } from '../host/context.js';
import type { Handle } from '../shm/table.js';
import { Media } from '../device/media.js';
import { rangesOf } from './bus.js';

const mediaCache = new WeakMap<SharedArrayBuffer, Media>();

function mediaOf(ctx: HostCtx, memdev: number): Media {
  const sab = ctx.media[memdev];
  if (!sab) throw new CxlError('ENXIO', `no media for mem${memdev}`);
  let m = mediaCache.get(sab);
  if (!m) { m = Media.attach(sab); mediaCache.set(sab, m); }
  return m;
}

/** Write (or verify) `pattern` over [offset, offset+length) of a DAX device. */
export function dax_access(ctx: HostCtx, dev: Handle, offset: number, length: number, pattern: number, write: boolean): void {
  const h = ctx.host;
  withRead(h.daxDevRwsem, () => {
    if (!h.daxDevs.get(dev, 'enabled')) throw new CxlError('ENXIO', 'device not enabled');
    const size = h.daxDevs.get(dev, 'size');
    if (length <= 0 || offset < 0 || offset + length > size) throw new CxlError('ENXIO', `access [${offset}, +${length}) beyond the device size ${size}`);
    const region = h.daxDevs.get(dev, 'region');
    const memdev = h.regions.get(region, 'memdev');
    const edStart = h.regions.get(region, 'edDpaStart');
    const media = mediaOf(ctx, memdev);
    let devOff = 0;
    let left = length;
    let at = offset;
    let ok = true;
    for (const g of rangesOf(ctx, dev)) {
      const rs = h.daxRanges.get(g, 'start');
      const rl = h.daxRanges.get(g, 'length');
      if (at < devOff + rl && left > 0) {
        const inRange = at - devOff;
        const n = Math.min(rl - inRange, left);
        const dpa = edStart + rs + inRange;
        const r = write ? media.write(dpa, n, pattern) : media.verify(dpa, n, pattern);
        if (!r.ok) {
          ok = false;
          // the refused DPA: which extent's bytes the device no longer backs (stress/checkers/data.ts)
          ctx.emit({ type: 'data', dev, offset, len: length, pattern, write: write ? 1 : 0, ok: 0, dpa: r.error.dpa });
          throw new CxlError(r.error.code === 'mismatch' ? 'EIO' : 'EFAULT', `${write ? 'write' : 'verify'} at DPA 0x${r.error.dpa.toString(16)}: ${r.error.message}`);
        }
        at += n;
        left -= n;
      }
      devOff += rl;
    }
    ctx.emit({ type: 'data', dev, offset, len: length, pattern, write: write ? 1 : 0, ok: ok ? 1 : 0, dpa: -1 });
  });
}
