// Virtual framebuffer: served by a framebuffer backend daemon that tsxend starts in phase 2,
// after every device's nodes exist. The VNC password is handed to the daemon privately and
// never written to xenstore: the backend directory is readable by the guest.

import type { DevController } from '../controller.js';
import { defined, flag, genericBackend, genericFrontend } from './common.js';

export const vfb: DevController<'vfb'> = {
  deviceClass: 'vfb',
  frontendKind: 'vfb',
  backendKind: () => 'vfb',
  devid: (c) => c.devid ?? 0,
  frontendState: true,
  activation: 'backend-daemon',
  frontendEntries: (_c, ctx) => genericFrontend(ctx),
  backendEntries: (c, ctx) =>
    defined([
      ...genericBackend(ctx),
      ['vnc', flag(c.vnc)],
      ['vnclisten', c.vnclisten],
      ['vncdisplay', c.vncdisplay?.toString()],
      ['vncunused', flag(c.vncunused)],
      ['sdl', flag(c.sdl)],
      ['opengl', flag(c.opengl ?? false)],
      ['xauthority', c.xauthority],
      ['display', c.display],
      ['keymap', c.keymap],
    ]),
};
