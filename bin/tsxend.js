#!/usr/bin/env node
// The CLI entry point: a thin launcher for the compiled CLI (`npm install` builds dist/).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
