/**
 * The `position` a write answers with: where its last event landed, as a decimal string (64-bit positions lose
 * nothing in JSON), or null when the command appended nothing. Clients send it back as `X-Min-Position`.
 */
export function positionOf(result: { readonly position: bigint | null }): string | null {
  return result.position?.toString() ?? null;
}
