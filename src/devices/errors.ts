// Typed errors of the devices layer. Every one names the device (class, devid, path) and what
// was observed, so an administrator never gets xend's bare "Hotplug scripts not working".

import { defineError } from '../errors.js';

export const E_DEVICE_EXISTS = defineError('TSX_ERR_DEVICE_EXISTS', 409, 'A live device with this class and devid already exists');
export const E_DEVICE_FOREIGN_WRITER = defineError('TSX_ERR_DEVICE_FOREIGN_WRITER', 409, 'A backend node exists that tsxend did not write (another writer raced it)');
export const E_DEVICE_UNKNOWN_CLASS = defineError('TSX_ERR_DEVICE_UNKNOWN_CLASS', 422, 'No device controller is registered for this class');
export const E_DEVICE_NOT_FOUND = defineError('TSX_ERR_DEVICE_NOT_FOUND', 404, 'No such device on this domain');
export const E_HOTPLUG_FAILED = defineError('TSX_ERR_HOTPLUG_FAILED', 502, 'A hotplug script exited non-zero');
export const E_HOTPLUG_HUNG = defineError('TSX_ERR_HOTPLUG_HUNG', 504, 'A hotplug script ran past its timeout and was killed');
export const E_HOTPLUG_STATUS_ERROR = defineError('TSX_ERR_HOTPLUG_STATUS_ERROR', 502, 'The backend reported hotplug-status=error');
export const E_BACKEND_NEVER_READY = defineError('TSX_ERR_BACKEND_NEVER_READY', 504, 'The backend did not reach the expected XenbusState in time');
export const E_BACKEND_DEVICE_MISSING = defineError('TSX_ERR_BACKEND_DEVICE_MISSING', 502, 'The backend directory vanished while waiting for it');
export const E_BACKEND_UNEXPECTED_STATE = defineError('TSX_ERR_BACKEND_UNEXPECTED_STATE', 502, 'A backend or frontend went to an unexpected XenbusState');
export const E_BACKEND_DAEMON_EXITED = defineError('TSX_ERR_BACKEND_DAEMON_EXITED', 502, 'A backend daemon (e.g. the framebuffer backend) exited');
export const E_DEVICE_DESTROY_INCOMPLETE = defineError('TSX_ERR_DEVICE_DESTROY_INCOMPLETE', 500, 'A device could not be removed completely');
