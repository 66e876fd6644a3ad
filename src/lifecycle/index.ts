// The lifecycle layer's public face.

import { DomainOrchestrator, type OrchestratorDeps } from './orchestrator.js';

export * from './api.js';
export * from './errors.js';
export { DomainOrchestrator, type OrchestratorDeps } from './orchestrator.js';
export { EventLog } from './events.js';
export { MemoryConfigStore } from './config-store.js';
export { ALLOWED, TRANSITIONS, checkAllowed } from './states.js';
export { CREATE_STEPS, type CreateStep } from './create.js';
export { createEnvironment, XEN_PRIVCMD, type Environment, type EnvironmentOptions } from './environment.js';
export { refuseSimulatedOnXen, simulatedParts, type World, type WorldContext, type WorldDevices, type WorldGuests, type WorldKind, type WorldParts, type WorldReport } from './world.js';
export { realWorld, type RealWorldOptions } from './world-real.js';
export type { ConsoleSource, ConsoleStream } from './console.js';
export { PtyConsoleSource, consoleTtyPath } from './console-pty.js';

export function createOrchestrator(deps: OrchestratorDeps): DomainOrchestrator {
  return new DomainOrchestrator(deps);
}
