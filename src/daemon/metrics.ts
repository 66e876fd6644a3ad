// Prometheus metrics (prom-client) on a registry of the daemon's own, so several daemons in one
// test process never share counters. Domains by state are read from the model at scrape time.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Orchestrator } from '../lifecycle/api.js';

export interface MetricsOptions {
  /** Xenstore requests sent so far, when the environment can tell. */
  readonly xenstoreOps?: () => number;
  readonly defaultMetrics?: boolean;
}

export class Metrics {
  readonly registry = new Registry();
  readonly requests: Counter<'route' | 'method' | 'status'>;
  readonly errors: Counter<'code'>;
  readonly operations: Histogram<'operation' | 'outcome'>;
  readonly events: Counter<'type'>;
  readonly wsClients: Gauge;
  readonly wsDropped: Counter<'reason'>;

  constructor(orchestrator: Orchestrator, options: MetricsOptions = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'tsxend_' });
    new Gauge({
      name: 'tsxend_domains',
      help: 'Domains known to the daemon, by state',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        for (const d of orchestrator.listDomains().domains) this.inc({ state: d.state });
      },
    });
    this.requests = new Counter({ name: 'tsxend_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['route', 'method', 'status'], registers });
    this.errors = new Counter({ name: 'tsxend_errors_total', help: 'Errors answered by the API, by TSX_ERR code', labelNames: ['code'], registers });
    this.operations = new Histogram({
      name: 'tsxend_operation_duration_seconds',
      help: 'Duration of domain operations (createDomain, destroyDomain, attachDevice, ...) by outcome',
      labelNames: ['operation', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.events = new Counter({ name: 'tsxend_events_total', help: 'Events emitted, by type', labelNames: ['type'], registers });
    this.wsClients = new Gauge({ name: 'tsxend_event_subscribers', help: 'Websocket event subscribers connected', registers });
    this.wsDropped = new Counter({ name: 'tsxend_event_subscribers_dropped_total', help: 'Websocket subscribers closed by the daemon, by reason', labelNames: ['reason'], registers });
    const xsOps = options.xenstoreOps;
    if (xsOps) {
      new Counter({
        name: 'tsxend_xenstore_ops_total',
        help: 'Xenstore requests sent',
        registers,
        collect() {
          this.reset();
          this.inc(xsOps());
        },
      });
    }
  }

  /** Times one operation's completion promise (never changes its outcome). */
  track<T>(operation: string, done: Promise<T>): void {
    const end = this.operations.startTimer({ operation });
    done.then(
      () => end({ outcome: 'ok' }),
      () => end({ outcome: 'failed' }),
    );
  }
}
