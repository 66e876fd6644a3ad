// Block devices: blkback (phy, with the `block` hotplug script) or qemu's qdisk.

import { existsSync } from 'node:fs';
import { vdevToNumber } from '../../config/vdev.js';
import type { DevController } from '../controller.js';
import { defined, genericBackend, genericFrontend, scriptPath } from './common.js';

const QDISK_FORMAT: Record<string, string> = { raw: 'aio', qcow: 'qcow', qcow2: 'qcow2', vhd: 'vhd', qed: 'qed', empty: 'aio' };

export const vbd: DevController<'vbd'> = {
  deviceClass: 'vbd',
  frontendKind: 'vbd',
  backendKind: (c) => (c.backendtype === 'qdisk' ? 'qdisk' : c.backendtype === 'tap' ? 'vbd3' : 'vbd'),
  devid: (c) => c.devid ?? vdevToNumber(c.vdev)!,
  frontendState: true,
  activation: 'hotplug-script',
  script: (c) => scriptPath(c.script ?? 'block'),
  explainFailure: (c) => (c.target.startsWith('/') && !existsSync(c.target) ? `${c.target} does not exist` : undefined),
  frontendEntries: (c, ctx, devid) =>
    defined([
      ...genericFrontend(ctx),
      ['virtual-device', String(devid)],
      ['device-type', c.devtype],
      ['trusted', '1'],
      ['protocol', ctx.protocol],
    ]),
  backendEntries: (c, ctx) => {
    const [frontendId, online, state] = genericBackend(ctx);
    const params = c.backendtype === 'qdisk' ? `${QDISK_FORMAT[c.format] ?? 'aio'}:${c.target}` : c.target;
    return defined([
      ['params', params],
      ['script', c.backendtype === 'phy' ? scriptPath(c.script ?? 'block') : undefined],
      frontendId!,
      online!,
      ['removable', c.devtype === 'cdrom' ? '1' : '0'],
      ['bootable', '1'],
      state!,
      ['dev', c.vdev],
      ['type', c.backendtype === 'tap' ? 'vbd3' : c.backendtype],
      ['mode', c.access],
      ['device-type', c.devtype],
      ['direct-io-safe', c.directIoSafe ? '1' : undefined],
      ['discard-enable', c.discard ?? c.access === 'w' ? '1' : '0'],
      ['specification', 'xen'],
    ]);
  },
};
