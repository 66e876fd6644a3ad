// For each device class, real cxenstored's GET_PERMS shows what Xen requires: the guest can read
// but not write its backend, and the backend domain can read but not write the guest's frontend
// (the guest owns it). Checked on the real daemon and on the mock, with the same expectations.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig, type DeviceEntry } from '../../src/config/index.js';
import { createDeviceManager, FakeHotplugRunner } from '../../src/devices/index.js';
import type { DomainDeviceContext } from '../../src/devices/api.js';
import { isError } from '../../src/errors.js';
import { XS_ERRNO_SPECS } from '../../src/xenstore/errors.js';
import { UndoJournal } from '../../src/util/journal.js';
import { openXenstore, type XenstoreClient } from '../../src/xenstore/index.js';
import { MockXenstored } from '../../src/xenstore/mock/index.js';
import type { Perm } from '../../src/xenstore/types.js';
import { describeReal, startXenstored, type RealXenstored } from '../fixtures/xenstored.js';

const DOMID = 21;
const CLASSES: [DeviceEntry['class'], Record<string, unknown>][] = [
  ['vbd', { vdev: 'xvda', target: '/srv/p.img' }],
  ['vif', { mac: '00:16:3e:00:00:21' }],
  ['vfb', {}],
  ['vkbd', {}],
  ['vtpm', {}],
  ['console', { name: 'chan' }],
];

function entry(cls: DeviceEntry['class'], config: Record<string, unknown>): DeviceEntry {
  return validateConfig({ name: 'p', type: 'pvh', devices: { 'bbbbbbbb-0000-4000-8000-000000000001': { class: cls, config } } }).devices['bbbbbbbb-0000-4000-8000-000000000001']!;
}

/** What access a domain has to a node under xenstore's rules: owner full, then its own entry, else the owner entry's default. */
function access(perms: readonly Perm[], domid: number): 'n' | 'r' | 'w' | 'b' {
  if (perms[0]!.domid === domid) return 'b';
  return perms.slice(1).find((p) => p.domid === domid)?.access ?? perms[0]!.access;
}

function suite(open: () => Promise<{ xs: XenstoreClient; close: () => Promise<void>; guest?: () => Promise<XenstoreClient> }>) {
  let xs: XenstoreClient;
  let close: () => Promise<void>;
  let guest: (() => Promise<XenstoreClient>) | undefined;
  const views: { cls: string; frontend: string; backend: string }[] = [];
  beforeAll(async () => {
    ({ xs, close, guest } = await open());
    const dm = createDeviceManager({ hotplug: new FakeHotplugRunner() });
    const ctx: DomainDeviceContext = { xs, domid: DOMID, uuid: '21212121-0000-4000-8000-000000000021', name: 'p', signal: new AbortController().signal, deadline: Date.now() + 10_000, emit: () => undefined };
    const written = await dm.writeDevices(ctx, CLASSES.map(([c, cfg], i) => ({ uuid: `u${i}`, entry: entry(c, cfg) })), new UndoJournal());
    for (const v of written) views.push({ cls: v.class, frontend: v.frontendPath, backend: v.backendPath });
  });
  afterAll(async () => close?.());

  for (const [cls] of CLASSES) {
    it(`${cls}: guest reads but cannot write its backend; dom0 reads but does not own the frontend`, async () => {
      const v = views.find((x) => x.cls === cls)!;
      const be = await xs.getPerms(v.backend);
      const fe = await xs.getPerms(v.frontend);
      expect(access(be, DOMID)).toBe('r');
      expect(be[0].domid).toBe(0);
      expect(fe[0].domid).toBe(DOMID);
      expect(fe.find((p) => p.domid === 0)?.access).toBe('r');
      for (const key of await xs.directory(v.backend)) expect(access(await xs.getPerms(`${v.backend}/${key}`), DOMID)).toBe('r');
      if (guest) {
        // Where the store can play the guest (the mock), prove it: reading works, writing is refused.
        const g = await guest();
        try {
          expect(await g.read(`${v.backend}/state`)).toBe('1');
          const err = await g.write(`${v.backend}/state`, '4').catch((e: unknown) => e);
          expect(isError(err, XS_ERRNO_SPECS.get('EACCES')!)).toBe(true);
          await g.write(`${v.frontend}/state`, '1');
        } finally {
          await g.close();
        }
      }
    });
  }
}

describe('device permissions on the mock (guest connection included)', () => {
  suite(async () => {
    const mock = new MockXenstored();
    mock.domains.create(DOMID, 'paused');
    const xs = await openXenstore({ kind: 'embedded' }, { embedded: mock });
    return {
      xs,
      guest: () => openXenstore({ kind: 'embedded' }, { embedded: { connect: () => mock.connect({ domid: DOMID }) } }),
      close: async () => {
        await xs.close();
        await mock.close();
      },
    };
  });
});

describeReal('cxenstored', 'device permissions', () => {
  suite(async () => {
    const d: RealXenstored = await startXenstored('cxenstored');
    await d.setDomains([{ domid: DOMID, state: 'paused' }]);
    const xs = await openXenstore({ kind: 'socket', path: d.socketPath });
    return {
      xs,
      close: async () => {
        await xs.close();
        await d.stop();
      },
    };
  });
});
