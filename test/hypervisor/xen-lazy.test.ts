// A host without Xen never loads anything native for the hypervisor: importing the selection
// and the Xen binding's modules, choosing `simulated`, and `auto` without privcmd load no shared
// object (koffi's addon included). Only using a XenHypervisor does.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Hypervisor } from '../../src/hypervisor/types.js';

const loaded: string[] = [];
const realDlopen = process.dlopen.bind(process);
process.dlopen = ((module: { exports: unknown }, filename: string, flags?: number) => {
  loaded.push(filename);
  return flags === undefined ? realDlopen(module, filename) : realDlopen(module, filename, flags);
});

describe('lazy loading of the Xen binding', () => {
  it('importing and choosing the simulation loads no native code; using Xen does', async () => {
    const { selectHypervisor, resolveHypervisorKind } = await import('../../src/hypervisor/select.js');
    const { XenHypervisor } = await import('../../src/hypervisor/xen/index.js');
    const absent = join(mkdtempSync(join(tmpdir(), 'lazy-')), 'privcmd');
    const sim = { kind: 'simulated' } as unknown as Hypervisor;
    expect(await selectHypervisor('auto', { createSimulated: () => sim, privcmdPath: absent })).toBe(sim);
    expect(resolveHypervisorKind('auto', absent)).toBe('simulated');
    await selectHypervisor('xen', { createSimulated: () => sim, privcmdPath: absent }).catch(() => undefined);
    const hv = new XenHypervisor({ libs: { xenctrl: join(absent, 'none.so') } });
    expect(loaded).toEqual([]);
    await hv.open().catch(() => undefined); // now koffi's addon is loaded
    expect(loaded.some((f) => /koffi/.test(f))).toBe(true);
  });
});
