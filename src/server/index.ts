// mongo-poolkit/server: the embedded MongoDB-wire-compatible server.
export { startServer, type ServerOptions, type EmbeddedServer } from './server.js';
export type { FailCommandSpec, FailCommandData, FailPointMode, PrimaryTransactionalWriteData } from './faults/failpoint.js';
export { CommandError, ErrorCodes } from './errors.js';
export { PreEncodedReply, type CommandTable, type CommandSpec, type CommandContext } from './commands/types.js';
export { startReplicaSet, type ReplicaSet, type ReplicaSetOptions, type StepDownOptions } from './topology/replica-set.js';
export { LoadModel, type LatencySpec, type ServiceTime, type LoadModelSettings, type LoadModelStats } from './faults/load-model.js';
export type { AuthOptions, AuthUser } from './auth/authenticator.js';
export type { ServerTlsOptions } from './tls.js';
