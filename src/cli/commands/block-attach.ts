import { attachCommand } from '../attach.js';

export const command = attachCommand(
  'vbd',
  'hot-attach a disk to a domain',
  "block-attach DOMAIN DISK-SPEC...",
  "DISK-SPEC is xl's disk syntax, e.g. 'phy:/dev/vg/data,xvdb,w' (or the xm form: phy:/dev/vg/data xvdb w)",
);
