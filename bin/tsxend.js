#!/usr/bin/env -S node --max-semi-space-size=2
// The CLI entry point: a thin launcher for the compiled CLI (`npm install` builds dist/).
// The daemon is mostly idle with bursts of small allocations: Node's default young generation
// (up to 3 x 16 MiB semi-spaces) grew to ~40 MB of RSS that a dom0 does not get back until V8's
// memory reducer runs a minute later; 2 MiB costs no measurable throughput (BENCHMARKS.md, RSS).
// The systemd unit and the container run this file itself, so these flags apply there too.
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
