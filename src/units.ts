/**
 * DOC: the numbers every layer shares — byte units, the host's PMD_SIZE, and how the model prints
 * a number in hex. A leaf: it imports nothing, so the host (src/cxl, src/dax), the device, the
 * runtime and the checkers all take these from here and none keeps a copy.
 */

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** PMD_SIZE on x86-64 (2 MiB): the host's extent alignment (cxl_validate_extent) and the
 *  dax_region align (alloc_dax_region); docs/kernel-map.md. */
export const PMD_SIZE = 2 * MiB;

/**
 * `0x` and the hex digits, as the host's and the device's log lines print a DPA or a length. A
 * negative number prints as `0x-1`: the host logs a u64 beyond 2^53 as -1 (u64ToNumber's null)
 * and scenarios match that text, so it stays.
 */
export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** Like `hex`, a negative number as `-0x…` (a difference, in the checkers' findings). */
export function signedHex(n: number): string {
  return n < 0 ? `-0x${(-n).toString(16)}` : `0x${n.toString(16)}`;
}

/** is_power_of_2() (include/linux/log2.h): n > 0 with one bit set — exact for doubles up to 2^1023. */
export function isPow2(n: number): boolean {
  return n > 0 && Number.isInteger(n) && 2 ** Math.round(Math.log2(n)) === n;
}

/** Two lowercase hex digits per byte value (0..255): the uuid codecs' table. */
export const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
