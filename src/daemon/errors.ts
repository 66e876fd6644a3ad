// Error codes the daemon itself raises (HTTP edge, listeners, state directory). Every other
// layer declares its own; the HTTP error handler maps any TSX_ERR_* error to its status.

import { defineError } from '../errors.js';

export const E_BAD_REQUEST = defineError('TSX_ERR_BAD_REQUEST', 400, 'The request does not match the API schema');
export const E_BAD_REF = defineError('TSX_ERR_BAD_REF', 400, 'A domain, device or task reference is malformed');
export const E_UNSUPPORTED_MEDIA = defineError('TSX_ERR_UNSUPPORTED_MEDIA_TYPE', 415, 'The request body has a content type the route does not accept');
export const E_UNAUTHORIZED = defineError('TSX_ERR_UNAUTHORIZED', 401, 'No valid API token was presented');
export const E_ROUTE_NOT_FOUND = defineError('TSX_ERR_ROUTE_NOT_FOUND', 404, 'No API route matches the method and path');
export const E_BODY_TOO_LARGE = defineError('TSX_ERR_BODY_TOO_LARGE', 413, 'The request body exceeds the size limit');
export const E_SOCKET_IN_USE = defineError('TSX_ERR_SOCKET_IN_USE', 409, 'Another daemon is listening on the API socket');
export const E_SERVE_OPTIONS = defineError('TSX_ERR_SERVE_OPTIONS', 400, 'The daemon options (flags, environment, config file) are invalid');
export const E_STATE_DIR = defineError('TSX_ERR_STATE_DIR', 500, 'The state directory cannot be read or written');
export const E_UNAVAILABLE = defineError('TSX_ERR_DAEMON_UNAVAILABLE', 503, 'The daemon is stopping or not ready');
export const E_UPGRADE_REQUIRED = defineError('TSX_ERR_UPGRADE_REQUIRED', 426, 'The route is a websocket: connect with an Upgrade request');
export const E_DAEMON_UNREACHABLE = defineError('TSX_ERR_DAEMON_UNREACHABLE', 503, 'The CLI could not connect to the daemon (no socket, refused, TLS failure)');
export const E_HTTP = defineError('TSX_ERR_HTTP', 502, 'The CLI got an HTTP error without a tsxend error body (a proxy, or not a tsxend daemon)');
export const E_PEER = defineError('TSX_ERR_PEER', 502, 'Another tsxend (a migration\'s destination) could not be reached or refused (details name it, its status and code)');
