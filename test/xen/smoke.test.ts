// scripts/dom0-smoke.sh is what a user runs on a real Xen host; here it runs on one, in the
// dom0 under QEMU, against the daemon the other tests use.

import { expect, it } from 'vitest';
import { describeXen } from '../fixtures/xenvm.js';
import { xenSession, type Xen } from './session.js';

const x = xenSession();

describeXen('scripts/dom0-smoke.sh on a real dom0', 'why' in x ? x.why : undefined, () => {
  const xen = x as Xen;

  it('passes: create, console, list, shutdown, devices seen by the guest, destroy, nothing left', async () => {
    const out = await xen.vm.run(`TSXEND_CONNECT=unix:/run/tsxend/tsxend.sock KERNEL=${xen.session.kernel} SMOKE_TIMEOUT=300 scripts/dom0-smoke.sh 2>&1`, 1800);
    expect(out).toContain('[dom0-smoke] PASS: create, console, list, shutdown, devices seen by the guest, destroy, nothing left');
  });
});
