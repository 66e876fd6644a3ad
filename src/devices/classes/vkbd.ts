// Virtual keyboard/pointer: served by the framebuffer backend (qemu) or the kernel (vinput).

import type { DevController } from '../controller.js';
import { defined, flag, genericBackend, genericFrontend } from './common.js';

export const vkbd: DevController<'vkbd'> = {
  deviceClass: 'vkbd',
  frontendKind: 'vkbd',
  backendKind: (c) => (c.backendType === 'linux' ? 'vinput' : 'vkbd'),
  devid: (c) => c.devid ?? 0,
  frontendState: true,
  activation: 'backend-daemon',
  frontendEntries: (_c, ctx) => genericFrontend(ctx),
  backendEntries: (c, ctx) =>
    defined([
      ...genericBackend(ctx),
      ['unique-id', c.uniqueId],
      ['feature-disable-keyboard', flag(c.featureDisableKeyboard)],
      ['feature-disable-pointer', flag(c.featureDisablePointer)],
      ['feature-abs-pointer', flag(c.featureAbsPointer)],
      ['feature-raw-pointer', flag(c.featureRawPointer)],
      ['width', c.width?.toString()],
      ['height', c.height?.toString()],
    ]),
};
