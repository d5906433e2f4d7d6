/** Number formatting shared by the renderers: short, aligned, no exponents for everyday values. */
export function formatMS(value: number): string {
  if (!Number.isFinite(value)) return '∞';
  if (value === 0) return '0';
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  if (value >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

export function formatRate(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toString() : '∞';
}

export function escapeHTML(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** JSON with Infinity/NaN as null (JSON has no infinities) and stable 2-space indentation. */
export function toJSON(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2);
}
