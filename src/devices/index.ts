// The devices layer: controllers per class, the generic writer, hotplug, backend daemons. Its
// defaults are the real world's (the real scripts, Xen's device model); the simulators of the
// kernel backends, the scripts, the framebuffer and the guest frontends live in src/sim.

export type { DeviceManager, DomainDeviceContext, PlannedDevice, DeviceEvent } from './api.js';
export { createDeviceManager, type DeviceManagerOptions } from './manager.js';
export { controllerFor, registeredClasses } from './registry.js';
export type { DevController, ControllerContext, Entries } from './controller.js';
export { RealHotplugRunner, FakeHotplugRunner, InflightScripts, DEFAULT_HOTPLUG_TIMEOUTS, uniformHotplugTimeouts, scriptTimeout, type StrayScripts, type HotplugRunner, type HotplugRequest, type HotplugResult, type HotplugTimeouts } from './hotplug.js';
export type { VfbCommand, VfbDaemonArgs } from './vfb/supervisor.js';
export { DEFAULT_DEVICE_MODEL, deviceModelArgs, qemuXenpvCommand, qmp } from './vfb/qemu.js';
export { XenbusState, frontendPath, backendPath, bookkeepingPath } from './paths.js';
export { readDevices } from './readback.js';
export * from './errors.js';
