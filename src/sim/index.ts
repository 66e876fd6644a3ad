// The simulated world, in one home: every stand-in tsxend has for Xen and the dom0 around it.
// Nothing in src/ outside this directory imports it except src/lifecycle/environment.ts, which
// composes it through the World seam (src/lifecycle/world.ts); eslint.config.js enforces that.
//
//   hypervisor.ts, publish.ts  the hypervisor in memory; publishes its domains to the mock or to
//                              the LD_PRELOAD stub's domains file (TSXEND_SIM_DOMAINS_FILE)
//   backend.ts                 dom0's kernel backends (blkback, netback, tpmback, consoles)
//   hotplug.ts                 the hotplug scripts' effect in xenstore, nothing on the host
//   simfb.ts                   the framebuffer/keyboard backend daemon (xen-vncfb's behaviour)
//   frontend.ts, guest.ts      guests' frontend drivers, and guests that run, shut down, crash
//   console.ts                 the simulated guests' serial line
//   basic-devices.ts           a stand-in DeviceManager (bench/ --devices basic, a few tests)
//   world.ts                   simulatedWorld(): the pieces above behind the World seam

export { SimulatedHypervisor, type SimulatedHypervisorOptions, type SimCall } from './hypervisor.js';
export { DomainsFilePublisher, RegistryPublisher, type DomainPublisher, type PublishedState, type RegistryLike } from './publish.js';
export { startBackendSimulator, switchState, writeIfPresent, watchAndStep, type Simulator } from './backend.js';
export { startGuestFrontends } from './frontend.js';
export { SimulatedHotplugRunner } from './hotplug.js';
export { SimGuests, type FrontendDriver, type SimGuestsOptions } from './guest.js';
export { SimConsole, SimConsoleSource, type SimConsoleGuest } from './console.js';
export { BasicDeviceManager } from './basic-devices.js';
export { simulatedWorld, simfbCommand, simulatedHotplug, type SimulatedWorldOptions } from './world.js';
