/** The document every server benchmark stores and reads: small, mixed types, like an application record. */
export function benchDocument(i: number) {
  return { _id: i, name: `user-${i}`, email: `user-${i}@example.com`, age: 20 + (i % 50), active: i % 3 !== 0, score: i * 1.5 + 0.25, tags: ['a', 'b'] };
}
