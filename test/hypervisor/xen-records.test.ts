// The pure conversions of the binding: UUID ↔ xen_domain_handle_t bytes, and the XEN_DOMINF_*
// flags of xc_domaininfo_t → DomainInfo (shutdown code in bits 16–23, crash as xc_domain_getinfo
// reports it).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeDomainInfo, handleToUuid, uuidToHandle } from '../../src/hypervisor/xen/records.js';

const raw = (flags: number) => ({
  domain: 7,
  flags,
  tot_pages: 65536n,
  max_pages: 131072n,
  cpu_time: 123456789n,
  nr_online_vcpus: 2,
  max_vcpu_id: 3,
  handle: uuidToHandle('00112233-4455-6677-8899-aabbccddeeff'),
});

describe('Xen records', () => {
  it('a UUID is its 16 bytes in text order, and back', () => {
    expect(uuidToHandle('00112233-4455-6677-8899-aabbccddeeff')).toEqual([0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]);
    fc.assert(fc.property(fc.uuid(), (u) => handleToUuid(uuidToHandle(u)) === u.toLowerCase()));
    expect(() => uuidToHandle('not-a-uuid')).toThrow(/not a UUID/);
  });

  it('decodes pages to KiB, vcpus, cpu time and the handle', () => {
    expect(decodeDomainInfo(raw(1 << 3))).toEqual({
      domid: 7,
      uuid: '00112233-4455-6677-8899-aabbccddeeff',
      paused: true,
      running: false,
      blocked: false,
      dying: false,
      crashed: false,
      shutdown: false,
      memoryKiB: 262144,
      maxMemoryKiB: 524288,
      onlineVcpus: 2,
      maxVcpuId: 3,
      cpuTimeNs: 123456789n,
    });
  });

  it('each shutdown code names its reason; code 3 is a crash', () => {
    const reasons = ['poweroff', 'reboot', 'suspend', 'crash', 'watchdog', 'soft_reset'];
    reasons.forEach((reason, code) => {
      const info = decodeDomainInfo(raw((1 << 2) | (code << 16)));
      expect(info).toMatchObject({ shutdown: true, shutdownReason: reason, crashed: code === 3 });
    });
    // The code is meaningless without the shutdown flag.
    expect(decodeDomainInfo(raw(3 << 16))).toMatchObject({ shutdown: false, crashed: false });
    expect(decodeDomainInfo(raw(3 << 16)).shutdownReason).toBeUndefined();
    expect(decodeDomainInfo(raw(1 | (1 << 5)))).toMatchObject({ dying: true, running: true });
  });
});
