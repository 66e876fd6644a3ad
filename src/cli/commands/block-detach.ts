import { detachCommand } from '../attach.js';

export const command = detachCommand('vbd', 'hot-detach a disk from a domain (by devid or vdev, e.g. xvdb)', 'block-detach DOMAIN DEVID|VDEV [--force]');
