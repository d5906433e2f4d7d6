// mongo-poolkit/server: the embedded MongoDB-wire-compatible server.
export { startServer, type ServerOptions, type EmbeddedServer } from './server.js';
export type { FailCommandSpec, FailCommandData, FailPointMode } from './faults/failpoint.js';
export { CommandError, ErrorCodes } from './errors.js';
export { PreEncodedReply, type CommandTable, type CommandSpec, type CommandContext } from './commands/types.js';
