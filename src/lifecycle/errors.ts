// Error codes of the lifecycle layer (the hypervisor's own live in src/hypervisor/errors.ts). Stable names: never renamed.

import { defineError } from '../errors.js';

export const E_NO_DOMAIN = defineError('TSX_ERR_NO_DOMAIN', 404, 'No domain matches the given domid, name or uuid');
export const E_WRONG_STATE = defineError('TSX_ERR_WRONG_STATE', 409, 'The operation is not allowed in the domain\'s current state (the message names it)');
export const E_NAME_TAKEN = defineError('TSX_ERR_NAME_TAKEN', 409, 'Another domain already uses this name');
export const E_UUID_TAKEN = defineError('TSX_ERR_UUID_TAKEN', 409, 'Another domain already uses this uuid');
export const E_RESOURCE_CLASH = defineError('TSX_ERR_RESOURCE_CLASH', 409, 'A MAC address, vif name or backing file is already used by another domain');
export const E_BUSY = defineError('TSX_ERR_DOMAIN_BUSY', 409, 'Another operation is in flight on this domain');
export const E_NO_TASK = defineError('TSX_ERR_NO_TASK', 404, 'No task with this id');
export const E_TASK_ENDED = defineError('TSX_ERR_TASK_ENDED', 409, 'The task has already ended');
export const E_NO_DEVICE = defineError('TSX_ERR_NO_DEVICE', 404, 'The domain has no such device');
export const E_DEVICES_TIMEOUT = defineError('TSX_ERR_DEVICES_TIMEOUT', 504, 'Devices did not reach Connected before the deadline (details list them with their states)');
export const E_SHUTDOWN_TIMEOUT = defineError('TSX_ERR_SHUTDOWN_TIMEOUT', 504, 'The guest did not shut down before the deadline');
export const E_PARTIAL_DESTROY = defineError('TSX_ERR_PARTIAL_DESTROY', 500, 'A destroy left resources behind (details list them)');
export const E_ROLLBACK_FAILED = defineError('TSX_ERR_ROLLBACK_FAILED', 500, 'A failed operation could not be fully rolled back (details list the steps)');
export const E_BAD_REQUEST = defineError('TSX_ERR_LIFECYCLE_BAD_REQUEST', 422, 'The request is not valid for this domain (e.g. memory over maxmem)');
export const E_NOT_MANAGED = defineError('TSX_ERR_NOT_MANAGED', 409, 'The domain is not a managed (defined) domain');
export const E_STOPPING = defineError('TSX_ERR_STOPPING', 503, 'The orchestrator is stopping and accepts no new operations');

export const E_CONSOLE_UNAVAILABLE = defineError('TSX_ERR_CONSOLE_UNAVAILABLE', 409, "The domain's console cannot be attached now (not running, or no console pty published in xenstore)");

export const E_SIMULATED_ON_XEN = defineError('TSX_ERR_SIMULATED_ON_XEN', 500, 'The hypervisor is real Xen but a part of the environment would be simulated (details list them): refused at start');

export const E_BAD_IMAGE = defineError('TSX_ERR_BAD_IMAGE', 422, 'A save image (or migration stream) is not one tsxend can restore: not an image, truncated, corrupt, or of a guest it cannot run (details name the file and byte offset)');
export const E_SUSPEND_TIMEOUT = defineError('TSX_ERR_SUSPEND_TIMEOUT', 504, 'The guest did not suspend before the deadline (its kernel may not support it); the request was withdrawn and it keeps running');
export const E_MIGRATION_FAILED = defineError('TSX_ERR_MIGRATION_FAILED', 502, 'A migration failed (the destination refused or could not be reached, or the copy broke off); the guest runs on the source');
export const E_NO_MIGRATION = defineError('TSX_ERR_NO_MIGRATION', 404, 'No incoming migration with this id (never prepared, or aborted or expired long ago)');
