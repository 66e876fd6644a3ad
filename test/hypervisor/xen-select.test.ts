// Choosing the hypervisor: `xen` without /dev/xen/privcmd fails at once with a typed error naming
// what is missing; `auto` picks Xen only where privcmd exists; the doctor names each missing piece;
// and on this machine the real Debian libraries load but cannot open an interface (no Xen).

import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TsxError } from '../../src/errors.js';
import { parseHypervisorKind, resolveHypervisorKind, selectHypervisor, xenDoctorChecks } from '../../src/hypervisor/select.js';
import type { Hypervisor } from '../../src/hypervisor/types.js';
import { XenHypervisor } from '../../src/hypervisor/xen/index.js';
import { startXcFake, xcfakeUnavailable } from '../fixtures/xcfake/xcfake.js';

const dir = mkdtempSync(join(tmpdir(), 'hvselect-'));
const fakePrivcmd = join(dir, 'privcmd');
writeFileSync(fakePrivcmd, '');
const absent = join(dir, 'no-privcmd');
const simulated = { kind: 'simulated' } as unknown as Hypervisor;
const deps = (privcmdPath: string, extra: object = {}) => ({ createSimulated: () => simulated, privcmdPath, ...extra });

describe('selectHypervisor', () => {
  it('simulated answers the embedded hypervisor and loads nothing native', async () => {
    expect(await selectHypervisor('simulated', deps(fakePrivcmd))).toBe(simulated);
  });

  it('xen without privcmd fails at start with TSX_ERR_XEN_UNAVAILABLE naming the device', async () => {
    const err = (await selectHypervisor('xen', deps(absent)).catch((e: unknown) => e)) as TsxError;
    expect(err).toBeInstanceOf(TsxError);
    expect(err.code).toBe('TSX_ERR_XEN_UNAVAILABLE');
    expect(err.statusCode).toBe(503);
    expect(err.details).toEqual({ missing: absent });
    expect(err.message).toContain(`${absent} is missing`);
    expect(err.message).toContain('tsxend doctor');
  });

  it('auto picks simulated without privcmd and xen with it', async () => {
    expect(resolveHypervisorKind('auto', absent)).toBe('simulated');
    expect(resolveHypervisorKind('auto', fakePrivcmd)).toBe('xen');
    expect(await selectHypervisor('auto', deps(absent))).toBe(simulated);
  });

  it('an unknown kind is a typed 400', () => {
    expect(() => parseHypervisorKind('kvm')).toThrow(expect.objectContaining({ code: 'TSX_ERR_HV_BAD_KIND', statusCode: 400 }) as Error);
  });

  it('a missing library is named in the error', async () => {
    const err = (await selectHypervisor('xen', deps(fakePrivcmd, { xen: { libs: { xenctrl: join(dir, 'libxenctrl.so.0') } } })).catch((e: unknown) => e)) as TsxError;
    expect(err.code).toBe('TSX_ERR_XEN_UNAVAILABLE');
    expect(err.details['missing']).toBe(join(dir, 'libxenctrl.so.0'));
  });

  it("Debian's real libxenctrl loads here but xc_interface_open fails without Xen: a clear error, not a crash", async () => {
    if (!existsSync('/usr/lib/x86_64-linux-gnu/libxenctrl.so.4.17')) {
      if (process.env['CI'] === 'true') throw new Error('libxenmisc4.17 missing under CI');
      console.warn('skipping: libxenmisc4.17 not installed');
      return;
    }
    if (existsSync('/dev/xen/privcmd')) return; // a real dom0: nothing to prove here
    const hv = new XenHypervisor();
    const err = (await hv.open().catch((e: unknown) => e)) as TsxError;
    expect(err.code).toBe('TSX_ERR_XEN_UNAVAILABLE');
    expect(err.details['call']).toBe('xc_interface_open');
    expect(err.message).toMatch(/xc_interface_open failed: E[A-Z]+ \(is this a Xen dom0/);
    await hv.close();
  });

  it.skipIf(xcfakeUnavailable() !== undefined)('xen with privcmd present opens the libraries at start (fake)', async () => {
    const fake = startXcFake();
    const hv = await selectHypervisor('auto', deps(fakePrivcmd, { xen: { libs: fake.libs } }));
    expect(hv.kind).toBe('xen');
    expect(fake.calls()[0]?.call).toBe('xc_interface_open');
    await hv.close();
    expect(fake.calls().at(-1)?.call).toBe('xc_interface_close');
    fake.cleanup();
  });
});

describe('xenDoctorChecks', () => {
  it('names every missing piece with a fix', async () => {
    const checks = await xenDoctorChecks({ privcmdPath: absent, capabilitiesPath: join(dir, 'caps'), libs: { xenctrl: join(dir, 'nolib.so'), xenguest: join(dir, 'nolib2.so') } });
    const byName = Object.fromEntries(checks.map((c) => [c.check, c]));
    expect(byName['xen privcmd']).toMatchObject({ status: 'fail', detail: `${absent} is missing: not running as a Xen dom0` });
    expect(byName['xen control domain']?.status).toBe('fail');
    expect(byName['ffi (koffi)']?.status).toBe('ok');
    expect(byName['libxenctrl']).toMatchObject({ status: 'fail', fix: 'apt install libxenmisc4.17 (Debian 12; Xen 4.17)' });
    for (const c of checks.filter((c) => c.status === 'fail')) expect(c.fix).toBeTruthy();
  });

  it('all ok on a host that has everything', async () => {
    const caps = join(dir, 'capabilities');
    writeFileSync(caps, 'control_d\n');
    const present = xcfakeUnavailable() === undefined ? startXcFake().path : undefined;
    if (!present) return;
    const checks = await xenDoctorChecks({ privcmdPath: fakePrivcmd, capabilitiesPath: caps, libs: { xenctrl: present, xenguest: present } });
    expect(checks.map((c) => [c.check, c.status])).toEqual([
      ['xen privcmd', 'ok'],
      ['xen control domain', 'ok'],
      ['ffi (koffi)', 'ok'],
      ['libxenctrl', 'ok'],
      ['libxenguest', 'ok'],
    ]);
  });
});
