import { attachCommand } from '../attach.js';

export const command = attachCommand(
  'vif',
  'hot-attach a network interface to a domain',
  'network-attach DOMAIN [KEY=VALUE...]',
  "KEY=VALUE are xl's vif keys, e.g. bridge=xenbr0 mac=00:16:3e:00:00:01 (defaults fill the rest)",
);
