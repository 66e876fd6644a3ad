// The mock xenstored: an in-memory xenstore daemon that answers like cxenstored 4.17.
//
// Usage:
//   const xs = new MockXenstored({ log });
//   const stream = xs.connect();             // privileged (dom0) in-memory connection
//   const guest = xs.connect({ domid: 5 });  // an unprivileged guest's connection
//   await xs.listen('/run/tsxend/xenstored.sock');  // real clients: XENSTORED_PATH=…
//   await xs.close();
//
// Domain registry (what the simulated hypervisor calls; see domains.ts):
//   xs.domains.create(domid, state?)   a domain now exists (SET_PERMS may name it; INTRODUCE works)
//   xs.domains.setState(domid, state)  running | paused | shutdown | crashed | dying
//   xs.domains.shutdown(domid) / crash(domid)   fire @releaseDomain once if introduced
//   xs.domains.markDying(domid)        introduced: dropped, connections closed, @releaseDomain
//   xs.domains.destroy(domid)          gone from the hypervisor (@releaseDomain if introduced)
//   xs.domains.exists(domid), isIntroduced(domid), list()
//
// Semantics, limits and deliberate choices are described in the module headers: store.ts
// (tree, generations), tree.ts (access pattern, permissions, quotas), transactions.ts
// (conflict rule), handlers.ts (each request), core.ts (dispatch, watch firing).

export { MockXenstored, type ConnectOptions, type MockXenstoredOptions } from './server.js';
export { DomainRegistry, type DomainState, DOMID_SELF } from './domains.js';
export { DEFAULT_LIMITS, type Limits } from './tree.js';
