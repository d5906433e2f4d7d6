import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactUri, redactText } from '../../src/util/redact.js';
import { createRandom } from '../../src/util/random.js';

test('redactUri hides passwords, including ones with raw @ or /, and secret options', () => {
  const cases: Array<[string, string]> = [
    ['mongodb://alice:s3cret@localhost:27017/app', 'mongodb://alice:****@localhost:27017/app'],
    ['mongodb://u:p@ss@host/', 'mongodb://u:****@host/'],
    ['mongodb://u:p/ss@h1,h2/db?authSource=admin', 'mongodb://u:****@h1,h2/db?authSource=admin'],
    ['mongodb+srv://u:pw@c.example.net/?authMechanismProperties=AWS_SESSION_TOKEN:abc', 'mongodb+srv://u:****@c.example.net/?authMechanismProperties=****'],
    ['mongodb://h/?tlsCertificateKeyFilePassword=x&appName=a', 'mongodb://h/?tlsCertificateKeyFilePassword=****&appName=a'],
    ['mongodb://host/?appName=a@b', 'mongodb://host/?appName=a@b'],
    ['mongodb://user@host', 'mongodb://user@host'],
  ];
  for (const [input, expected] of cases) assert.equal(redactUri(input), expected);
  assert.equal(redactText('cannot reach mongodb://a:b@h:1/x now'), 'cannot reach mongodb://a:****@h:1/x now');
});

test('createRandom is repeatable per seed and uniform enough', () => {
  const a = createRandom(5);
  const b = createRandom(5);
  const xs = Array.from({ length: 1000 }, () => a());
  assert.deepEqual(xs, Array.from({ length: 1000 }, () => b()));
  assert.notDeepEqual(xs.slice(0, 10), Array.from({ length: 10 }, createRandom(6)));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.05);
  assert.ok(xs.every((x) => x >= 0 && x < 1));
});
