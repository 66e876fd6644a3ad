// Virtual TPMs: the vtpm backend domain serves them; no hotplug script in dom0.

import type { DevController } from '../controller.js';
import { defined, genericBackend, genericFrontend, lowestFree } from './common.js';

export const vtpm: DevController<'vtpm'> = {
  deviceClass: 'vtpm',
  frontendKind: 'vtpm',
  backendKind: () => 'vtpm',
  devid: (c, taken) => c.devid ?? lowestFree(taken),
  frontendState: true,
  activation: 'kernel-backend',
  frontendEntries: (_c, ctx, devid) => [...genericFrontend(ctx), ['handle', String(devid)]],
  backendEntries: (c, ctx, devid) => defined([...genericBackend(ctx), ['handle', String(devid)], ['uuid', c.tpmUuid], ['resume', 'False']]),
};
