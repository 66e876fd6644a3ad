// Shared by the lifecycle suites: a six-device config, and a recursive dump of the whole store
// (values and permissions) to compare before and after.

import { randomUUID } from 'node:crypto';
import { validateConfig } from '../../src/config/validate.js';
import type { XendConfig } from '../../src/config/model.js';
import { formatPerms } from '../../src/xenstore/perms.js';
import type { XenstoreClient } from '../../src/xenstore/types.js';

let serial = 0;

/** A PV guest with six devices: two disks, two nics, a vfb and a vkbd. */
export function sixDeviceConfig(name: string, over: Partial<XendConfig> = {}): XendConfig {
  const n = ++serial;
  const hex = (n % 256).toString(16).padStart(2, '0');
  const hex2 = Math.floor(n / 256).toString(16).padStart(2, '0');
  return validateConfig({
    name,
    uuid: randomUUID(),
    memory: 64,
    maxmem: 128,
    vcpus: 1,
    maxvcpus: 2,
    image: { kernel: '/boot/vmlinuz', cmdline: 'console=hvc0' },
    devices: {
      [randomUUID()]: { class: 'vbd', config: { vdev: 'xvda', target: `/srv/${name}-root.img` } },
      [randomUUID()]: { class: 'vbd', config: { vdev: 'xvdb', target: `/srv/${name}-data.img` } },
      [randomUUID()]: { class: 'vif', config: { mac: `00:16:3e:${hex2}:${hex}:01`, bridge: 'xenbr0' } },
      [randomUUID()]: { class: 'vif', config: { mac: `00:16:3e:${hex2}:${hex}:02`, bridge: 'xenbr0' } },
      [randomUUID()]: { class: 'vfb', config: { vnc: true, vncpasswd: 'sekrit' } },
      [randomUUID()]: { class: 'vkbd', config: {} },
    },
    ...over,
  });
}

export function tinyConfig(name: string, over: Partial<XendConfig> = {}): XendConfig {
  return validateConfig({ name, uuid: randomUUID(), memory: 32, maxmem: 64, image: { kernel: '/boot/vmlinuz' }, devices: {}, ...over });
}

/** Every node under `root` as `path = value [perms]`, sorted. */
export async function dumpTree(xs: XenstoreClient, root = '/'): Promise<string[]> {
  const out: string[] = [];
  const walk = async (path: string): Promise<void> => {
    const [value, perms, kids] = await Promise.all([xs.tryRead(path), xs.getPerms(path).catch(() => undefined), xs.tryDirectory(path)]);
    if (value === undefined && kids === undefined) return;
    out.push(`${path} = ${JSON.stringify(value ?? '')} [${perms ? formatPerms(perms).join(',') : '?'}]`);
    await Promise.all((kids ?? []).map((k) => walk(path === '/' ? `/${k}` : `${path}/${k}`)));
  };
  await walk(root);
  return out.sort();
}

/** The tree without what a daemon keeps for itself (cxenstored's /tool). */
export async function dumpOurTree(xs: XenstoreClient): Promise<string[]> {
  return (await dumpTree(xs)).filter((l) => !l.startsWith('/tool'));
}

/** The tree as dumpOurTree has it, without the homes of `domids` (prepared shells come and go with their pool). */
export async function dumpOurTreeWithout(xs: XenstoreClient, domids: readonly number[]): Promise<string[]> {
  const homes = domids.flatMap((d) => [`/local/domain/${d}`, `/libxl/${d}`]);
  return (await dumpOurTree(xs)).filter((line) => {
    const path = line.slice(0, line.indexOf(' = '));
    return !homes.some((h) => path === h || path.startsWith(`${h}/`));
  });
}
