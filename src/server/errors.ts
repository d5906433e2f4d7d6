/**
 * Server-side command errors. A handler throws `CommandError`; the dispatcher turns it into
 * `{ ok: 0, errmsg, code, codeName, errorLabels? }`. Any other throw becomes InternalError (1).
 */
export const ErrorCodes = Object.freeze({
  InternalError: 1,
  BadValue: 2,
  NoSuchKey: 4,
  FailedToParse: 9,
  UserNotFound: 11,
  Unauthorized: 13,
  TypeMismatch: 14,
  Overflow: 15,
  InvalidLength: 16,
  ProtocolError: 17,
  AuthenticationFailed: 18,
  IllegalOperation: 20,
  NamespaceNotFound: 26,
  IndexNotFound: 27,
  PathNotViable: 28,
  ConflictingUpdateOperators: 40,
  CursorNotFound: 43,
  NamespaceExists: 48,
  MaxTimeMSExpired: 50,
  DollarPrefixedFieldName: 52,
  InvalidIdField: 53,
  NotSingleValueField: 54,
  CommandNotFound: 59,
  ImmutableField: 66,
  InvalidOptions: 72,
  InvalidNamespace: 73,
  IndexOptionsConflict: 85,
  IndexKeySpecsConflict: 86,
  NetworkTimeout: 89,
  OperationFailed: 96,
  ShutdownInProgress: 91,
  WriteConflict: 112,
  CommandNotSupported: 115,
  NoSuchTransaction: 251,
  ExceededTimeLimit: 262,
  PrimarySteppedDown: 189,
  TransactionTooOld: 225,
  ChecksumMismatch: 288,
  UnsupportedOpQueryCommand: 352,
  ExceededMemoryLimit: 146,
  Location40324: 40324,
  NotWritablePrimary: 10107,
  BSONObjectTooLarge: 10334,
  DuplicateKey: 11000,
  InterruptedAtShutdown: 11600,
  InterruptedDueToReplStateChange: 11602,
  NotPrimaryNoSecondaryOk: 13435,
  NotPrimaryOrSecondary: 13436,
  OperationNotSupportedInTransaction: 263,
  InvalidPipelineOperator: 168,
  Location15973: 15973,
  UnknownError: 8,
});

export type ErrorCodeName = keyof typeof ErrorCodes;

const NAMES_BY_CODE = new Map<number, string>(Object.entries(ErrorCodes).map(([name, code]) => [code, name]));

export function codeNameOf(code: number): string {
  return NAMES_BY_CODE.get(code) ?? `Location${code}`;
}

export class CommandError extends Error {
  readonly code: number;
  readonly codeName: string;
  errorLabels: string[] | undefined;
  /** Extra fields copied into the error reply (keyPattern, keyValue, writeConcernError...). */
  readonly extra: Record<string, unknown> | undefined;

  constructor(code: number, message: string, options: { labels?: string[]; extra?: Record<string, unknown>; codeName?: string } = {}) {
    super(message);
    this.name = 'CommandError';
    this.code = code;
    this.codeName = options.codeName ?? codeNameOf(code);
    this.errorLabels = options.labels;
    this.extra = options.extra;
  }

  static of(name: ErrorCodeName, message: string, options?: { labels?: string[]; extra?: Record<string, unknown> }): CommandError {
    return new CommandError(ErrorCodes[name], message, { ...options, codeName: name });
  }
}
