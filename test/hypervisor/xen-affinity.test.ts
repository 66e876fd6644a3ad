// xl's cpus= string into the cpumap the binding hands xc_vcpu_setaffinity: the cases follow xl
// 4.17's parse_cpurange (items in order, "^" removes, "all" fills the map, junk is refused).

import { describe, expect, it } from 'vitest';
import { cpumapBytes, xlCpumap } from '../../src/hypervisor/xen/affinity.js';

/** The CPUs set in a map. */
function cpusOf(map: Buffer): number[] {
  const out: number[] = [];
  for (let cpu = 0; cpu < map.length * 8; cpu++) if ((map[cpu >> 3]! >> (cpu & 7)) & 1) out.push(cpu);
  return out;
}

describe('xl cpus= as a cpumap', () => {
  it('is xc_get_cpumap_size bytes: one bit per CPU up to max_cpu_id, rounded up to bytes', () => {
    expect([0, 1, 7, 8, 15, 16, 255].map(cpumapBytes)).toEqual([1, 1, 1, 2, 2, 3, 32]);
  });

  it.each([
    ['0-3,^2', 1, [0, 1, 3]],
    ['1,3', 1, [1, 3]],
    ['^1,0-2', 1, [0, 1, 2]], // applied in order: removing before adding changes nothing
    ['0-15,^8-11', 2, [0, 1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15]],
    ['2, 5', 1, [2, 5]], // strtoul skips leading blanks
    ['6-12', 1, [6, 7]], // CPUs past the map are dropped (libxl_bitmap_set)
    ['9', 1, []],
    [',,3,', 1, [3]], // strtok_r skips empty items
  ] as const)('%s (%i byte map) sets %j', (cpus, bytes, set) => {
    expect(cpusOf(xlCpumap(cpus, bytes))).toEqual(set);
  });

  it('"all" sets every bit of the map, even past the last CPU (libxl_bitmap_set_any)', () => {
    expect([...xlCpumap('all', 2)]).toEqual([0xff, 0xff]);
    expect(cpusOf(xlCpumap('all,^0', 1))).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it.each(['^all', '3-1', '1 ', 'x', '1-', '-1', '1-2-3'])('refuses %j as xl does, naming the string', (cpus) => {
    let err: unknown;
    try {
      xlCpumap(cpus, 1);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'TSX_ERR_HV_INVALID', details: { cpus } });
  });

  it.each(['nodes:0', 'node:1', '0,^nodes:1'])('refuses NUMA node items (%j) as unsupported', (cpus) => {
    expect(() => xlCpumap(cpus, 1)).toThrow(expect.objectContaining({ code: 'TSX_ERR_XEN_UNSUPPORTED' }));
  });
});
