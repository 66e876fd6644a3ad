import { detachCommand } from '../attach.js';

export const command = detachCommand('vif', 'hot-detach a network interface (by devid or MAC)', 'network-detach DOMAIN DEVID|MAC [--force]');
