import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import * as driver7 from 'mongodb';
import * as driver6 from 'mongodb6';
import { classifyAttempt, classifyError, type Retryability } from '../../src/index.js';

// The pool errors are not exported by the driver's index; take the real classes from its modules.
const require = createRequire(import.meta.url);
const pool7 = require('mongodb/lib/cmap/errors.js');
const pool6 = require('mongodb6/lib/cmap/errors.js');

/**
 * Errors built with each driver's own classes (driver 6 and driver 7 are separate class
 * hierarchies), so classification cannot rely on instanceof. The feature tests in retry.test.ts
 * classify errors the driver raised over real sockets.
 */
for (const [label, d, pool] of [
  ['driver 7', driver7, pool7],
  ['driver 6', driver6, pool6],
] as const) {
  describe(`classifyError (${label})`, () => {
    const server = (code: number, labels: string[] = [], extra: Record<string, unknown> = {}) =>
      new d.MongoServerError({ ok: 0, code, errmsg: `code ${code}`, errorLabels: labels, ...extra });
    const fakePool = { address: '127.0.0.1:27017', serverError: undefined };
    const labelled = <E extends { addErrorLabel(label: string): void }>(error: E, ...labels: string[]): E => {
      for (const label of labels) error.addErrorLabel(label);
      return error;
    };

    const table: Array<[string, unknown, Retryability, RegExp]> = [
      ['server selection', new d.MongoServerSelectionError('Server selection timed out', { error: undefined } as never), 'always', /nothing was sent/],
      ['pool cleared', new pool.PoolClearedError(fakePool), 'always', /pool was cleared/],
      ['pool cleared on monitor timeout (in use)', new pool.PoolClearedOnNetworkError(fakePool), 'idempotent', /may have run/],
      ['network error before the handshake', new d.MongoNetworkError('connect ECONNREFUSED', { beforeHandshake: true }), 'always', /being established/],
      ['connection refused (driver 7 labels it SystemOverloadedError)', labelled(new d.MongoNetworkError('connect ECONNREFUSED 127.0.0.1:1'), 'SystemOverloadedError', 'RetryableError'), 'always', /being established/],
      ['network error after sending', new d.MongoNetworkError('connection closed'), 'idempotent', /may have run/],
      ['network timeout', new d.MongoNetworkTimeoutError('timed out'), 'idempotent', /timeout/],
      ['NotWritablePrimary refusal', server(10107), 'always', /refused/],
      ['NotPrimaryNoSecondaryOk refusal', server(13435), 'always', /refused/],
      ['NoWritesPerformed label', server(91, ['RetryableWriteError', 'NoWritesPerformed']), 'always', /NoWritesPerformed/],
      ['PrimarySteppedDown', server(189, ['RetryableWriteError']), 'idempotent', /PrimarySteppedDown/],
      ['InterruptedAtShutdown', server(11600), 'idempotent', /may have started/],
      ['RetryableWriteError label alone', server(1234, ['RetryableWriteError']), 'idempotent', /RetryableWriteError/],
      ['TransientTransactionError label', server(251, ['TransientTransactionError']), 'idempotent', /TransientTransactionError/],
      ['overload refusal', server(462, ['SystemOverloadedError', 'RetryableError']), 'always', /overloaded/],
      ['duplicate key', server(11000), 'never', /duplicate key/],
      ['validation', server(121), 'never', /validation/],
      ['auth failure', server(18), 'never', /authentication/],
      ['maxTimeMS expired', server(50), 'never', /maxTimeMS/],
      ['any other server error', server(2), 'never', /bad value/],
      ['unlisted server code', server(31254), 'never', /rejected/],
      ['wait-queue timeout', new pool.WaitQueueTimeoutError('Timed out while checking out a connection from connection pool', '127.0.0.1:27017'), 'never', /shed load/],
      ['closed client', new d.MongoTopologyClosedError(), 'never', /closed/],
      ['server closed during selection', new d.MongoServerClosedError(), 'always', /closed before/],
      ['invalid argument', new d.MongoInvalidArgumentError('bad'), 'never', /invalid argument/],
      ['a plain Error', new Error('boom'), 'never', /not a MongoDB error/],
      ['a string', 'boom', 'never', /not an error/],
      ['an AbortError', new DOMException('aborted', 'AbortError'), 'never', /aborted/],
    ];
    for (const [name, error, retryable, reason] of table) {
      it(`${name} → ${retryable}`, () => {
        const result = classifyError(error);
        assert.equal(result.retryable, retryable, result.reason);
        assert.match(result.reason, reason);
      });
    }

    it('classifyAttempt keeps "always" only when the attempt used no more connections than the error explains', () => {
      const selection = new d.MongoServerSelectionError('Server selection timed out', { error: undefined } as never);
      const refusal = server(10107, ['RetryableWriteError']);
      const poolCleared = new pool.PoolClearedError(fakePool);
      const cases: Array<[string, unknown, number, Retryability]> = [
        ['selection error, nothing sent', selection, 0, 'always'],
        ['selection error after a sent attempt (the driver retried)', selection, 1, 'idempotent'],
        ['pool cleared, nothing sent', poolCleared, 0, 'always'],
        ['pool cleared after a sent attempt', poolCleared, 1, 'idempotent'],
        ['NotWritablePrimary: the refused command itself', refusal, 1, 'always'],
        ['NotWritablePrimary after another sent attempt', refusal, 2, 'idempotent'],
        ['network error: unchanged', new d.MongoNetworkError('connection closed'), 3, 'idempotent'],
        ['duplicate key: unchanged', server(11000), 2, 'never'],
      ];
      for (const [name, error, used, expected] of cases) {
        const result = classifyAttempt(error, used);
        assert.equal(result.retryable, expected, `${name}: ${result.reason}`);
        if (expected === 'idempotent' && classifyError(error).retryable === 'always') {
          assert.match(result.reason, /the driver already retried after an attempt that may have been applied/, name);
        }
      }
    });

    it('reads the code of a write concern error', () => {
      const error = new d.MongoWriteConcernError({ ok: 1, writeConcernError: { code: 91, errmsg: 'shutting down' } } as never);
      assert.equal(classifyError(error).retryable, 'idempotent');
    });
  });
}
