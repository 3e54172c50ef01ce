/**
 * DOC: groups checker — tag groups the host dropped at a group gate (G1–G4, docs/kernel-map.md).
 *
 * Invariants verified:
 *  - a sharable tagged group whose device sequence numbers are exactly 0..n-1 — valid for a v11
 *    device (r3.1 "0 to n-1, each once") — is accepted by the sequence gate G2. A drop of such a
 *    group at G2 is the v10 host's 1..n numbering meeting a v11 device: reported as the known
 *    hazard `sharable-group-refused-seq` (issue row (f)), not as a forbidden outcome, because v10
 *    is a different posting of the series, not a v11 bug.
 * Not verified (and why):
 *  - drops at G1 (tag already committed: the H1 outcome, uniqueness holding), G3 and G4 (a device
 *    sending misaligned or cross-partition groups): those are the gates doing their job against a
 *    hostile or racing device, acceptable by design;
 *  - whether G2 drops groups whose seqs are NOT dense — that is correct behaviour for any variant.
 */
import { GROUP_GATE, type DecodedEvent } from '../../src/protocol.js';
import type { CheckerResult, SystemState } from '../../src/state.js';
import type { Checker } from '../../src/runtime/system.js';
import { Findings, type SysLike } from './common.js';
import { finding, held, INV } from './outcomes.js';

export class GroupsChecker implements Checker {
  readonly name = 'groups';
  private readonly findings = new Findings();

  onEvent(e: DecodedEvent): void {
    this.findings.at = e.timeMs; // a finding raised here is stamped with its event (runner: afterDeadlock)
    const ev = e.ev;
    if (ev.type !== 'group-dropped' || ev.gate !== GROUP_GATE.seqIntegrity || !ev.shareable) return;
    if (ev.seqMin === 0 && ev.seqMax === ev.n - 1) {
      this.findings.add(`g2:${ev.memdev}:${ev.uuid}`, finding('sharable-group-refused-seq',
        `mem${ev.memdev}: sharable group ${ev.uuid} of ${ev.n} extents with sequence numbers 0..${ev.n - 1} refused by G2${ev.existing ? ' (recovery scan)' : ''}`));
    }
  }

  atQuiescence(_state: SystemState, _sys: SysLike): CheckerResult[] {
    this.findings.at = Infinity; // judged at quiescence: no evidence time
    const f = this.findings.list();
    return f.length ? f : [held(INV.seq, 'no valid sharable group refused by G2')];
  }

  reset(): void {
    this.findings.clear();
  }
}
