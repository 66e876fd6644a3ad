// Consoles: console 0 is the domain's `console` directory (xenconsoled); channels (secondary
// consoles) are ordinary devices. libxl adds them without waiting, and so does tsxend.

import type { DevController } from '../controller.js';
import { defined, lowestFree } from './common.js';

export const console: DevController<'console'> = {
  deviceClass: 'console',
  frontendKind: 'console',
  backendKind: () => 'console',
  // The primary console (no name) is 0; channels take the lowest free id from 1.
  devid: (c, taken) => c.devid ?? (c.name === undefined ? 0 : lowestFree(taken, 1)),
  frontendState: true,
  activation: 'none',
  frontendEntries: (_c, ctx, devid) =>
    devid === 0 ? [['backend-id', String(ctx.backendDomid)]] : [['backend-id', String(ctx.backendDomid)], ['state', '1'], ['protocol', 'vt100']],
  readonlyFrontendEntries: (c) =>
    defined([
      ['name', c.name],
      ['limit', '1048576'],
      ['type', 'xenconsoled'],
      ['output', c.connection === 'socket' ? `socket:${c.path ?? ''}` : 'pty'],
      ['tty', ''],
    ]),
  backendEntries: (c, ctx) =>
    defined([
      ['frontend-id', String(ctx.domid)],
      ['online', '1'],
      ['state', '1'],
      ['protocol', 'vt100'],
      ['name', c.name],
      ['connection', c.connection],
      ['path', c.path],
    ]),
};
