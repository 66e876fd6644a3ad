// The devices layer: controllers per class, the generic writer, hotplug, backend daemons,
// and simulators of the kernel backends and guest frontends for machines without Xen.

export type { DeviceManager, DomainDeviceContext, PlannedDevice, DeviceEvent } from './api.js';
export { createDeviceManager, type DeviceManagerOptions } from './manager.js';
export { controllerFor, registeredClasses } from './registry.js';
export type { DevController, ControllerContext, Entries } from './controller.js';
export { RealHotplugRunner, FakeHotplugRunner, InflightScripts, DEFAULT_HOTPLUG_TIMEOUTS, uniformHotplugTimeouts, scriptTimeout, type StrayScripts, type HotplugRunner, type HotplugRequest, type HotplugResult, type HotplugTimeouts } from './hotplug.js';
export { startBackendSimulator, type Simulator } from './sim/backend.js';
export { startGuestFrontends } from './sim/frontend.js';
export { SimulatedHotplugRunner } from './sim/hotplug.js';
export { defaultVfbCommand, type VfbCommand, type VfbDaemonArgs } from './vfb/supervisor.js';
export { DEFAULT_DEVICE_MODEL, deviceModelArgs, qemuXenpvCommand, qmp } from './vfb/qemu.js';
export { XenbusState, frontendPath, backendPath, bookkeepingPath } from './paths.js';
export { readDevices } from './readback.js';
export * from './errors.js';
