/**
 * DOC: cxl defs — what every file of the CXL core shares, as drivers/cxl/cxlmem.h and cxl.h give
 * it to drivers/cxl/core/*.c: the memdev's device name and the negative errno returns. The bottom
 * of src/cxl/: it imports no other CXL module, so any of them can import it (no import cycle).
 *
 * The errno values are the one vocabulary of src/protocol.ts (`ERRNO_CODE`), negated as the
 * kernel returns them; they are not numbers of their own.
 */
import { ERRNO_CODE } from '../protocol.js';

/** dev_name(&cxlmd->dev): `memX`. */
export function memdevName(idx: number): string {
  return `mem${idx}`;
}

const E = (name: keyof typeof ERRNO_CODE): number => -ERRNO_CODE[name]!;
export const ENXIO = E('ENXIO');
export const EBUSY = E('EBUSY');
export const EINVAL = E('EINVAL');
export const ENOMEM = E('ENOMEM');
export const ENOSPC = E('ENOSPC');
export const EEXIST = E('EEXIST');
export const EIO = E('EIO');
export const EAGAIN = E('EAGAIN');
