/**
 * DOC: kstrtoull(s, 0) as lib/kstrtox.c parses a sysfs write — shared by the cxl_test device's
 * inject attributes and the scenario validator, so a record the validator accepts is one the
 * device parses (a "2M" size suffix is not: the kernel has no suffixes here, -EINVAL).
 */

/** "0x…" hex, "0…" octal (a leading 0 with a non-octal digit is junk), else decimal; null on
 *  junk or a value above 2^53−1 (the model's exact-number limit). Surrounding whitespace, like
 *  sysfs's trailing newline, is ignored. */
export function kstrtoull(s: string): number | null {
  const t = s.trim();
  let v: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(t)) v = parseInt(t.slice(2), 16);
  else if (/^0[0-7]*$/.test(t)) v = t.length === 1 ? 0 : parseInt(t.slice(1), 8);
  else if (/^[1-9][0-9]*$/.test(t)) v = parseInt(t, 10);
  else return null;
  return Number.isSafeInteger(v) ? v : null;
}
