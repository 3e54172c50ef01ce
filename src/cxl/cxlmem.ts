/**
 * DOC: cxl defs — what every file of the CXL core shares, as drivers/cxl/cxlmem.h and cxl.h give
 * it to drivers/cxl/core/*.c: the memdev's device name. The bottom of src/cxl/: it imports no
 * other CXL module, so any of them can import it (no import cycle). The negative errno returns
 * are src/errors.ts's, as every kernel file takes them from <linux/errno.h>.
 */

/** dev_name(&cxlmd->dev): `memX`. (Built once per memdev index: cxl_add_extent names its
 *  device for its error paths on every extent, #17.) */
export function memdevName(idx: number): string {
  if (idx >= 0 && idx < NAMES.length && (idx | 0) === idx) return NAMES[idx] ??= `mem${idx}`;
  return `mem${idx}`;
}
const NAMES: (string | undefined)[] = new Array<string | undefined>(64).fill(undefined);
