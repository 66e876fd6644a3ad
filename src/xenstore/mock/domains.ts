// Domains, two views of them, as cxenstored has them:
//  * the hypervisor's: which domains exist and in what state. The simulated hypervisor drives
//    it through this registry (`create`, `setState`, `shutdown`, `crash`, `markDying`,
//    `destroy`); dom0 always exists. SET_PERMS refuses an owner outside it (ENOENT).
//  * xenstored's own domain records: introduced domains (INTRODUCE), and domains it learned
//    about because a permission named them while they existed (C's alloc_domain on SET_PERMS).
//    Only introduced ones answer T to IS_DOMAIN_INTRODUCED and count as "connected" for
//    RELEASE, RESUME and SET_TARGET.
// State changes of introduced domains fire `@releaseDomain` exactly when C's domain_cleanup()
// would: once when the domain is first seen shut down or crashed (RESUME re-arms it), and when
// it is dying or gone (the record is then dropped and its connections closed).

export type DomainState = 'running' | 'paused' | 'shutdown' | 'crashed' | 'dying';

export interface DomainRecord {
  readonly domid: number;
  introduced: boolean;
  /** `@releaseDomain` already fired for a shutdown/crash (cleared by RESUME). */
  shutdownReported: boolean;
  /** SET_TARGET: acts with this domain's rights too. */
  target: number | undefined;
}

/** What the registry needs from the daemon. */
export interface DomainHooks {
  fireSpecial(name: '@introduceDomain' | '@releaseDomain'): void;
  /** A domain's xenstore connections go away (release, death). */
  dropDomainConnections(domid: number): void;
}

/** DOMID_SELF, which IS_DOMAIN_INTRODUCED always answers T for. */
export const DOMID_SELF = 0x7ff0;

export class DomainRegistry {
  private readonly hv = new Map<number, DomainState>([[0, 'running']]);
  private readonly records = new Map<number, DomainRecord>([
    [0, { domid: 0, introduced: true, shutdownReported: false, target: undefined }],
  ]);

  constructor(private readonly hooks: DomainHooks) {}

  // ---- the simulated hypervisor's side ----

  /** A new domain exists in the hypervisor (not yet known to xenstored). */
  create(domid: number, state: DomainState = 'paused'): void {
    checkDomid(domid);
    if (this.hv.has(domid)) throw new Error(`domain ${domid} already exists`);
    this.hv.set(domid, state);
  }

  exists(domid: number): boolean {
    return this.hv.has(domid);
  }

  state(domid: number): DomainState | undefined {
    return this.hv.get(domid);
  }

  /** Domains that exist in the hypervisor, dom0 included. */
  list(): { domid: number; state: DomainState }[] {
    return [...this.hv].map(([domid, state]) => ({ domid, state }));
  }

  setState(domid: number, state: DomainState): void {
    if (domid === 0) throw new Error('dom0 cannot change state');
    if (!this.hv.has(domid)) throw new Error(`no domain ${domid}`);
    this.hv.set(domid, state);
    this.cleanup(domid);
  }

  shutdown(domid: number): void {
    this.setState(domid, 'shutdown');
  }

  crash(domid: number): void {
    this.setState(domid, 'crashed');
  }

  markDying(domid: number): void {
    this.setState(domid, 'dying');
  }

  /** The domain no longer exists; fires `@releaseDomain` if it was introduced. */
  destroy(domid: number): void {
    if (domid === 0) throw new Error('dom0 cannot be destroyed');
    if (!this.hv.delete(domid)) return;
    this.cleanup(domid);
  }

  // ---- xenstored's side ----

  record(domid: number): DomainRecord | undefined {
    return this.records.get(domid);
  }

  isIntroduced(domid: number): boolean {
    return domid === DOMID_SELF || this.records.get(domid)?.introduced === true;
  }

  /** C's domain_alloc_permrefs(): a domid a permission may name, known or existing. */
  knownOrExisting(domid: number): boolean {
    if (this.records.has(domid)) return true;
    if (!this.hv.has(domid)) return false;
    this.records.set(domid, { domid, introduced: false, shutdownReported: false, target: undefined });
    return true;
  }

  /** INTRODUCE: answers false for a domain the hypervisor does not have. */
  introduce(domid: number): boolean {
    if (!this.hv.has(domid)) return false;
    const rec = this.records.get(domid);
    if (rec?.introduced) return true;
    this.records.set(domid, { domid, introduced: true, shutdownReported: false, target: rec?.target });
    this.hooks.fireSpecial('@introduceDomain');
    return true;
  }

  /**
   * find_connected_domain(): the record of an introduced domain, else ENOENT (observed on
   * cxenstored 4.17 also for a domain it learned about through a permission).
   */
  connected(domid: number): DomainRecord | 'ENOENT' {
    const rec = this.records.get(domid);
    return rec?.introduced ? rec : 'ENOENT';
  }

  /** RELEASE (or death): forget the domain, close its connections, fire `@releaseDomain`. */
  release(domid: number): void {
    this.records.delete(domid);
    this.hooks.dropDomainConnections(domid);
    this.hooks.fireSpecial('@releaseDomain');
  }

  /** C's domain_cleanup() for one domain after a hypervisor state change. */
  private cleanup(domid: number): void {
    const rec = this.records.get(domid);
    if (!rec) return;
    if (!rec.introduced) {
      if (!this.hv.has(domid)) this.records.delete(domid);
      return;
    }
    const state = this.hv.get(domid);
    if (state === undefined || state === 'dying') {
      this.release(domid);
      return;
    }
    if ((state === 'shutdown' || state === 'crashed') && !rec.shutdownReported) {
      rec.shutdownReported = true;
      this.hooks.fireSpecial('@releaseDomain');
    }
  }
}

function checkDomid(domid: number): void {
  if (!Number.isInteger(domid) || domid < 0 || domid > 0xffffffff) throw new RangeError(`bad domid ${domid}`);
}
