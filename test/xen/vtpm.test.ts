// vtpm on real Xen, as far as a guest can see it without a vTPM manager. The real backend is a
// stub domain (vtpmmgr + vtpm) that Debian does not ship, so a stand-in plays its xenstore side
// in dom0 (InitWait with feature-protocol-v2, Connected once the frontend is Initialised) and
// serves no TPM command. What this shows: the frontend and backend nodes tsxend writes are what
// the real Linux xen-tpmfront driver needs to bind, allocate its ring and event channel, and
// publish them. What it cannot show: a TPM command answered (no vTPM behind the ring).

import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeXen } from '../fixtures/xenvm.js';
import { guestConfig, guestReport, xenSession, type Xen } from './session.js';

const x = xenSession();

/** The stand-in vTPM backend's xenstore side, for one device, as a bash loop in dom0. */
const standIn = (domid: string) => `
be=/local/domain/0/backend/vtpm/${domid}/0
until xenstore-read $be/frontend >/dev/null 2>&1; do sleep 0.2; done
xenstore-write $be/feature-protocol-v2 1 $be/state 2
fe=$(xenstore-read $be/frontend)
until [ "$(xenstore-read $fe/state 2>/dev/null)" = 3 ]; do sleep 0.2; done
xenstore-write $be/state 4
until [ "$(xenstore-read $be/state 2>/dev/null)" = 5 ] || ! xenstore-read $be >/dev/null 2>&1; do sleep 0.5; done
xenstore-write $be/state 6 2>/dev/null
exit 0`;

describeXen('vtpm on real Xen (no vTPM manager: a stand-in backend)', 'why' in x ? x.why : undefined, () => {
  const xen = x as Xen;
  const name = 'tpm';
  let domid = '';
  let report: string[][] = [];

  beforeAll(async () => {
    const cfg = `${xen.session.dir}/${name}.cfg`;
    writeFileSync(cfg, guestConfig(xen, name, ["vtpm = [ 'backend=0' ]", 'on_poweroff = "destroy"']));
    // Paused: every device up to InitWait (the stand-in answers), the guest not yet running.
    const create = xen.ok(['create', cfg, '-p', '--quiet']);
    // The stand-in starts once the domain exists (its domid is the next one Xen hands out).
    let id = '';
    for (let i = 0; i < 600 && id === ''; i++) {
      id = (await xen.vm.run(`xl domid ${name} 2>/dev/null || true`)).trim();
      if (id === '') await new Promise((r) => setTimeout(r, 500));
    }
    domid = id;
    xen.vm.detach(standIn(domid));
    await create;
    // Let the guest run with xl: tsxend's unpause waits for every device to connect, which a
    // vTPM frontend cannot do here (its probe sends TPM commands that nothing answers).
    await xen.vm.run(`xl unpause ${domid}`);
    report = guestReport(await xen.vm.waitConsole(name, /TSXREPORT end/, 300_000));
  });

  afterAll(async () => {
    await xen.cli(['destroy', name]);
  });

  it('binds the real xen-tpmfront to the device tsxend wrote: ring, event channel and protocol v2 published', async () => {
    const fe = `/local/domain/${domid}/device/vtpm/0`;
    const nodes = await xen.vm.run(`for k in backend backend-id state ring-ref event-channel feature-protocol-v2; do printf '%s=%s\\n' $k "$(xenstore-read ${fe}/$k 2>/dev/null)"; done`);
    expect(nodes).toContain(`backend=/local/domain/0/backend/vtpm/${domid}/0\n`);
    expect(nodes).toContain('backend-id=0\n');
    expect(nodes).toMatch(/^ring-ref=\d+$/m);
    expect(nodes).toMatch(/^event-channel=\d+$/m);
    expect(nodes).toContain('feature-protocol-v2=1\n');
    // The guest's own view: the xenbus device exists and has moved past Initialising.
    const vtpm = report.find((r) => r[0] === 'xenbus' && r[1] === 'vtpm-0');
    expect(vtpm?.[3]).toMatch(/^(Initialised|Connected)$/);
  });

  it('leaves nothing of the vtpm after destroy', async () => {
    await xen.ok(['destroy', name]);
    expect(await xen.vm.run(`xenstore-ls /local/domain/0/backend/vtpm/${domid} >/dev/null 2>&1 && echo left; xl list | tail -n +2 | awk '{print $1}'`)).toBe('Domain-0\n');
  });
});
