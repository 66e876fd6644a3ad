// The lifecycle layer's public face.

import { DomainOrchestrator, type OrchestratorDeps } from './orchestrator.js';

export * from './api.js';
export * from './errors.js';
export { DomainOrchestrator, type OrchestratorDeps } from './orchestrator.js';
export { EventLog } from './events.js';
export { MemoryConfigStore } from './config-store.js';
export { ALLOWED, TRANSITIONS, checkAllowed } from './states.js';
export { CREATE_STEPS, type CreateStep } from './create.js';
export { createEnvironment, type Environment, type EnvironmentOptions } from './environment.js';
export { SimGuests } from './sim-guest.js';
export type { ConsoleSource, ConsoleStream } from './console.js';
export { PtyConsoleSource, consoleTtyPath } from './console-pty.js';
export { SimConsole, SimConsoleSource } from './sim-console.js';

export function createOrchestrator(deps: OrchestratorDeps): DomainOrchestrator {
  return new DomainOrchestrator(deps);
}
