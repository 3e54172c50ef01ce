/**
 * DOC: cxl defs — what every file of the CXL core shares, as drivers/cxl/cxlmem.h and cxl.h give
 * it to drivers/cxl/core/*.c: the memdev's device name. The bottom of src/cxl/: it imports no
 * other CXL module, so any of them can import it (no import cycle). The negative errno returns
 * are src/errors.ts's, as every kernel file takes them from <linux/errno.h>.
 */

/** dev_name(&cxlmd->dev): `memX`. */
export function memdevName(idx: number): string {
  return `mem${idx}`;
}
