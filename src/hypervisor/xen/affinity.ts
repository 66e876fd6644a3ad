// xl's cpus= (a vcpu's hard affinity) as the cpumap xc_vcpu_setaffinity takes, parsed as xl 4.17's
// parse_cpurange/update_cpumap_range/parse_range do: comma-separated items applied in order,
// each "N" or "N-M", "^" removes instead of adding, "all" sets every bit of the map. CPUs past
// the map are dropped (libxl_bitmap_set ignores them); Xen refuses a map with no online CPU.

import { TsxError } from '../../errors.js';
import { E_HV_INVALID, E_XEN_UNSUPPORTED } from '../errors.js';

/** xc_get_cpumap_size: one bit per CPU up to max_cpu_id, in whole bytes. */
export function cpumapBytes(maxCpuId: number): number {
  return Math.floor((maxCpuId + 1 + 7) / 8);
}

const RANGE = /^\s*(\d+)(?:-\s*(\d+))?$/;

/** The cpumap of an xl `cpus` string, `bytes` long. */
export function xlCpumap(cpus: string, bytes: number): Buffer {
  const map = Buffer.alloc(bytes);
  const invalid = (why: string): TsxError => new TsxError(E_HV_INVALID, `cpus "${cpus}": ${why}`, { details: { cpus } });
  for (const raw of cpus.split(',')) {
    // strtok_r skips empty tokens.
    if (raw === '') continue;
    let item = raw;
    const not = item.startsWith('^');
    if (not) item = item.slice(1);
    if (item.startsWith('node:') || item.startsWith('nodes:')) {
      throw new TsxError(E_XEN_UNSUPPORTED, `cpus "${cpus}": NUMA node affinity (nodes:) is not supported by the Xen binding; name the CPUs`, {
        details: { cpus },
      });
    }
    if (item === 'all') {
      if (not) throw invalid('"^all" is not accepted');
      map.fill(0xff);
      continue;
    }
    const m = RANGE.exec(item);
    if (!m) throw invalid(`invalid pcpu range "${raw}"`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw invalid(`invalid pcpu range "${raw}"`);
    for (let cpu = a; cpu <= b && cpu < bytes * 8; cpu++) {
      const bit = 1 << (cpu & 7);
      map[cpu >> 3] = not ? map[cpu >> 3]! & ~bit : map[cpu >> 3]! | bit;
    }
  }
  return map;
}
