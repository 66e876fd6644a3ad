// The seed race on the real backend: see race-cycles.mjs, which runs in dom0 beside the daemon.

import { expect, it } from 'vitest';
import { describeXen } from '../fixtures/xenvm.js';
import { xenSession, type Xen } from './session.js';

const x = xenSession();
const PER_ORDER = Number(process.env['TSXEND_XEN_RACE_CYCLES'] ?? '4');

describeXen('the seed race (changeset 14926) with Xen\'s device model', 'why' in x ? x.why : undefined, () => {
  const xen = x as Xen;

  it(`creates vfb + vkbd guests ${2 * PER_ORDER} times, half planned in the pre-14926 order, with 0 failures`, async () => {
    const out = await xen.vm.run(`node test/xen/race-cycles.mjs ${xen.session.kernel} ${xen.session.dir}/guest-initrd.gz ${PER_ORDER}`, 3600);
    const result = JSON.parse(/^RACE (.*)$/m.exec(out)![1]!) as { cycles: { old: number; fixed: number }; failures: unknown[]; writtenOrders: { old: string[]; fixed: string[] } };
    process.stderr.write(`[race] ${JSON.stringify(result)}\n`);
    expect(result.failures).toEqual([]);
    expect(result.cycles).toEqual({ old: PER_ORDER, fixed: PER_ORDER });
    // The old order really was planned: vfb's nodes written before vkbd's.
    expect(result.writtenOrders.old.indexOf('vfb')).toBeLessThan(result.writtenOrders.old.indexOf('vkbd'));
    expect(result.writtenOrders.fixed.indexOf('vkbd')).toBeLessThan(result.writtenOrders.fixed.indexOf('vfb'));
    // Nothing left: only dom0 and the daemon's own guests (none by now), no device model.
    expect(await xen.vm.run('xl list | grep -c race || true')).toBe('0\n');
    expect(await xen.vm.run('ps -eo args | grep -c "[x]en-qemu-system" || true')).toBe('0\n');
  });
});
