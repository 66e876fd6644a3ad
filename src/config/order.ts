// The order _createDevices walks. Each device class declares which classes must be created
// before it; the order is derived from those declarations (a topological sort, stable within a
// class and by declaration order between independent classes). A cycle is a config-time error.
//
// The vkbd → vfb edge is Xen changeset 14926: the framebuffer backend daemon started for a vfb
// writes into the vkbd backend at start-up, so vkbd's nodes must exist (with their final
// permissions) before anything can start a vfb backend. tsxend also writes every device's
// nodes before starting any backend process; this order is the second line of defence.

import { ConfigError } from './errors.js';
import type { DeviceClass, XendConfig } from './model.js';

export interface DeviceClassDeclaration {
  readonly class: DeviceClass;
  /** Classes whose devices must all be created before any device of this class. */
  readonly after: readonly DeviceClass[];
}

/** xend's order after 14926: vkbd, console, vbd, vif, vtpm, then the rest (vfb). */
export const DEVICE_CLASS_DECLARATIONS: readonly DeviceClassDeclaration[] = [
  { class: 'vkbd', after: [] },
  { class: 'console', after: ['vkbd'] },
  { class: 'vbd', after: ['console'] },
  { class: 'vif', after: ['vbd'] },
  { class: 'vtpm', after: ['vif'] },
  { class: 'vfb', after: ['vkbd', 'vtpm'] },
];

/** Topologically sorts classes; ties keep declaration order. Throws on a cycle. */
export function deriveClassOrder(decls: readonly DeviceClassDeclaration[] = DEVICE_CLASS_DECLARATIONS): DeviceClass[] {
  const known = new Set(decls.map((d) => d.class));
  const done = new Set<DeviceClass>();
  const order: DeviceClass[] = [];
  while (order.length < decls.length) {
    const next = decls.find((d) => !done.has(d.class) && d.after.every((a) => done.has(a) || !known.has(a)));
    if (!next) {
      const stuck = decls.filter((d) => !done.has(d.class)).map((d) => `${d.class} after [${d.after.join(', ')}]`);
      throw new ConfigError('order', [{ path: 'devices', message: `device class order has a cycle: ${stuck.join('; ')}` }]);
    }
    done.add(next.class);
    order.push(next.class);
  }
  return order;
}

const CLASS_ORDER = deriveClassOrder();

/** Device uuids in creation order: by derived class order, stable within a class. */
export function orderedDeviceRefs(config: Pick<XendConfig, 'devices'>, classOrder: readonly DeviceClass[] = CLASS_ORDER): string[] {
  const rank = new Map(classOrder.map((c, i) => [c, i]));
  return Object.entries(config.devices)
    .map(([uuid, entry], index) => ({ uuid, rank: rank.get(entry.class) ?? classOrder.length, index }))
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .map((d) => d.uuid);
}
