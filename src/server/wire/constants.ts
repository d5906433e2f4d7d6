/** MongoDB wire protocol constants (see docs/architecture.md and the OP_MSG spec). */
export const OpCode = Object.freeze({
  OP_REPLY: 1,
  OP_QUERY: 2004,
  OP_COMPRESSED: 2012,
  OP_MSG: 2013,
});

export const MsgFlags = Object.freeze({
  checksumPresent: 1 << 0,
  moreToCome: 1 << 1,
  exhaustAllowed: 1 << 16,
});

export const CompressorId = Object.freeze({ noop: 0, snappy: 1, zlib: 2, zstd: 3 });

/** Compressors this server implements, by name as negotiated in the handshake. */
export const SUPPORTED_COMPRESSORS: ReadonlyMap<string, number> = new Map([
  ['zlib', CompressorId.zlib],
  ['noop', CompressorId.noop],
]);

export const HEADER_SIZE = 16;
export const MAX_BSON_OBJECT_SIZE = 16 * 1024 * 1024;
/** mongod lets a command body exceed the document limit by 16 KiB so a maximum-size document fits. */
export const MAX_COMMAND_SIZE = MAX_BSON_OBJECT_SIZE + 16 * 1024;
export const MAX_MESSAGE_SIZE = 48_000_000;
export const MAX_WRITE_BATCH_SIZE = 100_000;

/** Commands whose replies are never compressed (and whose requests never are). */
export const UNCOMPRESSIBLE_COMMANDS: ReadonlySet<string> = new Set([
  'hello', 'ismaster', 'isMaster', 'saslStart', 'saslContinue', 'getnonce', 'authenticate',
  'createUser', 'updateUser', 'copydbSaslStart', 'copydbgetnonce', 'copydb',
]);
