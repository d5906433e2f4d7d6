// mongo-poolkit: the client-side toolkit. The embedded server is at 'mongo-poolkit/server',
// exporters at 'mongo-poolkit/prometheus' and 'mongo-poolkit/otel'.
export * from './errors.js';
export { redactUri, redactText } from './util/redact.js';
export { createRandom, type RandomSource } from './util/random.js';
export * from './client/index.js';
export * from './monitor/index.js';
export * from './resilience/index.js';
export * from './sizing/index.js';
