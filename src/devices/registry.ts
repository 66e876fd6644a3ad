// Device controllers by class. Adding a class: one file in classes/ and one line here.

import { TsxError } from '../errors.js';
import { console } from './classes/console.js';
import { vbd } from './classes/vbd.js';
import { vfb } from './classes/vfb.js';
import { vif } from './classes/vif.js';
import { vkbd } from './classes/vkbd.js';
import { vtpm } from './classes/vtpm.js';
import type { DevController } from './controller.js';
import { E_DEVICE_UNKNOWN_CLASS } from './errors.js';

const CONTROLLERS = new Map<string, DevController>([
  ['vbd', vbd],
  ['vif', vif],
  ['vfb', vfb],
  ['vkbd', vkbd],
  ['vtpm', vtpm],
  ['console', console],
]);

export function controllerFor(cls: string): DevController {
  const c = CONTROLLERS.get(cls);
  if (!c) throw new TsxError(E_DEVICE_UNKNOWN_CLASS, `no device controller for class ${JSON.stringify(cls)}`, { details: { class: cls } });
  return c;
}

export function registeredClasses(): string[] {
  return [...CONTROLLERS.keys()];
}
