import { describe, expect, it } from 'vitest';
import { isCanonicalUuid, randomUuid } from '../../../protocol/http2/index.js';

describe('randomUuid', () => {
  it('makes canonical version 4 UUIDs, lower case by default and upper case when asked, none twice', () => {
    const seen = new Set<string>();
    // More than one batch of random bytes.
    for (let i = 0; i < 2000; i++) {
      const lower = randomUuid();
      expect(isCanonicalUuid(lower)).toBe(true);
      expect(lower[14]).toBe('4');
      expect('89ab').toContain(lower[19]);
      const upper = randomUuid(true);
      expect(upper).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
      seen.add(lower).add(upper.toLowerCase());
    }
    expect(seen.size).toBe(4000);
  });
});
