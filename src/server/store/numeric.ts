import { Decimal128, Double, Int32, Long } from 'bson';

/**
 * Arithmetic that keeps BSON numeric types the way mongod does for $inc / $mul / $bit:
 * int op int stays int (overflow → long), long stays long, anything with a double → double,
 * anything with a decimal → decimal (exact, through BigInt coefficients).
 */

const INT = 0;
const LONG = 1;
const DOUBLE = 2;
const DECIMAL = 3;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Kind of a numeric value, or -1 when it is not a number. A JS number counts as the BSON type it would encode to. */
export function numericKind(v: unknown): number {
  if (v instanceof Int32) return INT;
  if (v instanceof Double) return DOUBLE;
  if (v instanceof Long) return LONG;
  if (v instanceof Decimal128) return DECIMAL;
  if (typeof v === 'number') return Number.isInteger(v) && v >= -2147483648 && v <= 2147483647 ? INT : DOUBLE;
  if (typeof v === 'bigint') return LONG;
  return -1;
}

/** Thrown when a 64-bit integer result does not fit; callers turn it into mongod's message. */
export class NumericOverflow extends Error {
  constructor() {
    super('integer overflow');
    this.name = 'NumericOverflow';
  }
}

function asBigInt(v: unknown): bigint {
  if (v instanceof Long) return v.toBigInt();
  if (typeof v === 'bigint') return v;
  if (v instanceof Int32 || v instanceof Double) return BigInt(v.value);
  return BigInt(v as number);
}

function asNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v instanceof Int32 || v instanceof Double) return v.value;
  if (v instanceof Long) return v.toNumber();
  if (typeof v === 'bigint') return Number(v);
  return Number((v as Decimal128).toString());
}

function fromBigInt(r: bigint, allowInt: boolean): Int32 | Long {
  if (allowInt && r >= -2147483648n && r <= 2147483647n) return new Int32(Number(r));
  if (r < INT64_MIN || r > INT64_MAX) throw new NumericOverflow();
  return Long.fromBigInt(r);
}

interface Dec {
  coef: bigint;
  exp: number;
}

const DECIMAL_RE = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

function toDec(v: unknown): Dec | undefined {
  const s = v instanceof Decimal128 ? v.toString() : v instanceof Long || typeof v === 'bigint' ? asBigInt(v).toString() : String(asNumber(v));
  const m = DECIMAL_RE.exec(s);
  if (!m) return undefined; // NaN / Infinity
  const digits = (m[2] ?? '') + (m[3] ?? '');
  if (digits.length === 0) return undefined;
  const coef = BigInt(digits) * (m[1] === '-' ? -1n : 1n);
  return { coef, exp: Number(m[4] ?? 0) - (m[3]?.length ?? 0) };
}

function decimalOf(d: Dec): Decimal128 {
  const s = `${d.coef}E${d.exp}`;
  try {
    return Decimal128.fromString(s);
  } catch {
    return Decimal128.fromStringWithRounding(s);
  }
}

function decimalArith(op: 'add' | 'mul', a: unknown, b: unknown): Decimal128 {
  const x = toDec(a);
  const y = toDec(b);
  if (!x || !y) {
    const r = op === 'add' ? asNumber(a) + asNumber(b) : asNumber(a) * asNumber(b);
    return Decimal128.fromString(Number.isNaN(r) ? 'NaN' : r > 0 ? 'Infinity' : '-Infinity');
  }
  if (op === 'mul') return decimalOf({ coef: x.coef * y.coef, exp: x.exp + y.exp });
  const exp = Math.min(x.exp, y.exp);
  const coef = x.coef * 10n ** BigInt(x.exp - exp) + y.coef * 10n ** BigInt(y.exp - exp);
  return decimalOf({ coef, exp });
}

/** a + b or a * b with mongod's type promotion. Throws NumericOverflow for a long result beyond int64. */
export function arithmetic(op: 'add' | 'mul', a: unknown, b: unknown): Int32 | Long | Double | Decimal128 {
  const kind = Math.max(numericKind(a), numericKind(b));
  switch (kind) {
    case INT:
    case LONG: {
      const x = asBigInt(a);
      const y = asBigInt(b);
      return fromBigInt(op === 'add' ? x + y : x * y, kind === INT);
    }
    case DOUBLE:
      return new Double(op === 'add' ? asNumber(a) + asNumber(b) : asNumber(a) * asNumber(b));
    default:
      return decimalArith(op, a, b);
  }
}

/** Zero of the type `$mul` would produce for a missing field. */
export function zeroLike(v: unknown): Int32 | Long | Double | Decimal128 {
  switch (numericKind(v)) {
    case INT:
      return new Int32(0);
    case LONG:
      return Long.fromInt(0);
    case DOUBLE:
      return new Double(0);
    default:
      return Decimal128.fromString('0');
  }
}

/** `$bit` and/or/xor on int/long values; int with int stays int. */
export function bitwise(op: 'and' | 'or' | 'xor', a: unknown, b: unknown): Int32 | Long {
  const x = asBigInt(a);
  const y = asBigInt(b);
  const r = op === 'and' ? x & y : op === 'or' ? x | y : x ^ y;
  if (numericKind(a) === INT && numericKind(b) === INT) return new Int32(Number(BigInt.asIntN(32, r)));
  return Long.fromBigInt(BigInt.asIntN(64, r));
}

export function isIntegral(v: unknown): boolean {
  const kind = numericKind(v);
  return kind === INT || kind === LONG;
}
