// Error codes of the hypervisor layer (simulated and real Xen). Stable names: never renamed.

import { defineError } from '../errors.js';

/** The real hypervisor was asked for but this host cannot provide it (no privcmd, no libxenctrl...). */
export const E_XEN_UNAVAILABLE = defineError(
  'TSX_ERR_XEN_UNAVAILABLE',
  503,
  'The Xen hypervisor interface is not available on this host (details name what is missing)',
);

/** A libxenctrl/libxenguest call failed; details carry {call, domid, errno, xcError}. */
export const E_XEN_CALL_FAILED = defineError(
  'TSX_ERR_XEN_CALL_FAILED',
  502,
  'A libxenctrl or libxenguest call failed (details name the call, the domain, errno and the xc error)',
);

/** The binding, or this Xen, cannot do this on real Xen, e.g. an HVM build, a live save without log-dirty. */
export const E_XEN_UNSUPPORTED = defineError(
  'TSX_ERR_XEN_UNSUPPORTED',
  501,
  'Real Xen here cannot do this request (e.g. building an HVM guest; a live save where Xen cannot track dirty pages: use --no-live)',
);

/** An unknown hypervisor kind was asked for (serve/doctor --hypervisor). */
export const E_HV_BAD_KIND = defineError(
  'TSX_ERR_HV_BAD_KIND',
  400,
  'Unknown hypervisor kind: use simulated, xen or auto',
);

/** Simulated hypervisor: what a real one would refuse, in the same words. */
export const E_HV_NO_MEMORY = defineError('TSX_ERR_HV_NO_MEMORY', 507, 'The host does not have enough free memory for this request');
export const E_HV_NO_CPUS = defineError('TSX_ERR_HV_NO_CPUS', 507, 'The host does not have that many physical CPUs for the domain\'s vcpus');
export const E_HV_NO_DOMAIN = defineError('TSX_ERR_HV_NO_DOMAIN', 404, 'The hypervisor has no domain with this domid');
export const E_HV_INVALID = defineError('TSX_ERR_HV_INVALID', 422, 'The hypervisor refused an invalid request (details say why)');
export const E_HV_INJECTED = defineError('TSX_ERR_HV_INJECTED', 500, 'A failure injected into the simulated hypervisor (tests)');

/** Xen's libxl-save-helper failed, or broke its protocol; details carry the op, domain, its exit and last log lines. */
export const E_XEN_SAVE_HELPER = defineError(
  'TSX_ERR_XEN_SAVE_HELPER',
  502,
  "Xen's libxl-save-helper failed to save or restore a domain's memory (details: the operation, the domain, errno and the helper's last log lines)",
);
