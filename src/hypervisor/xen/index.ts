// The real-Xen hypervisor. Importing this loads nothing native; koffi and the libraries are
// loaded when a XenHypervisor is first used.
export { XenHypervisor, type XenHypervisorOptions } from './hypervisor.js';
export { DEFAULT_LIBS, BOUND_SYMBOLS, type XenLibPaths } from './binding.js';
export { uuidToHandle, handleToUuid } from './records.js';
