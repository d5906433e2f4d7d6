#!/usr/bin/env node
// The `poolkit` executable: everything lives in program.ts so tests can drive it in-process.
import { main } from './program.js';

await main(process.argv.slice(2));
