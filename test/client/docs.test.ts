import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CLIENT_OPTIONS, PRESETS } from '../../src/index.js';

// docs/configuration.md is written from the schema; these checks keep it from drifting.
const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');

describe('docs/configuration.md', () => {
  it('documents every option of the schema', () => {
    const missing = CLIENT_OPTIONS.filter((spec) => !doc.includes(`| \`${spec.name}\` |`)).map((spec) => spec.name);
    assert.deepEqual(missing, []);
  });

  it('documents every preset value and its reason', () => {
    for (const preset of Object.values(PRESETS)) {
      const section = doc.slice(doc.indexOf(`### \`${preset.name}\``));
      for (const [name, { value, why }] of Object.entries(preset.options)) {
        const shown = typeof value === 'string' ? `'${value}'` : String(value);
        assert.ok(section.includes(`| \`${name}\` | ${shown} | ${why} |`), `${preset.name}.${name}`);
      }
    }
  });

  it('documents every warning code createClient can emit', () => {
    const source = readFileSync(new URL('../../src/client/validate.ts', import.meta.url), 'utf8');
    const codes = [...new Set(source.match(/POOLKIT_WARN_[A-Z_]+/g))];
    assert.ok(codes.length >= 10);
    assert.deepEqual(codes.filter((code) => !doc.includes(`\`${code}\``)), []);
  });
});
