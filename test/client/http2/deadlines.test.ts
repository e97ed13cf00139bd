import { afterEach, describe, expect, it, vi } from 'vitest';
import { Deadlines, type Waiting } from '../../../client/http2/deadlines.js';

interface Item extends Waiting {
  name: string;
}

const item = (name: string): Item => ({ name, deadline: 0, waited: true });

describe('Deadlines (one timer for every request waiting for its response)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('gives up each request still waited for at its own deadline, in order, and none that was done', () => {
    vi.useFakeTimers();
    const expired: string[] = [];
    const deadlines = new Deadlines<Item>(100, (i) => expired.push(`${i.name}@${Date.now() - start}`));
    const start = Date.now();
    const [a, b, c] = [item('a'), item('b'), item('c')];
    deadlines.add(a);
    vi.advanceTimersByTime(30);
    deadlines.add(b);
    vi.advanceTimersByTime(30);
    deadlines.add(c);
    deadlines.done(b);
    vi.advanceTimersByTime(39);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(expired).toEqual(['a@100']);
    vi.advanceTimersByTime(60);
    expect(expired).toEqual(['a@100', 'c@160']);
    // Done after its deadline passed: it was given up once, not again.
    deadlines.done(c);
    vi.advanceTimersByTime(1000);
    expect(expired).toEqual(['a@100', 'c@160']);
  });

  it('sets its timer again for requests added while the due ones are given up', () => {
    vi.useFakeTimers();
    const expired: string[] = [];
    const deadlines: Deadlines<Item> = new Deadlines<Item>(50, (i) => {
      expired.push(i.name);
      if (i.name === 'first') deadlines.add(item('again'));
    });
    deadlines.add(item('first'));
    vi.advanceTimersByTime(50);
    expect(expired).toEqual(['first']);
    vi.advanceTimersByTime(49);
    expect(expired).toEqual(['first']);
    vi.advanceTimersByTime(1);
    expect(expired).toEqual(['first', 'again']);
  });

  it('keeps only what is waited for when one request at the front is never answered', () => {
    vi.useFakeTimers();
    const expired: string[] = [];
    const deadlines = new Deadlines<Item>(60_000, (i) => expired.push(i.name));
    const stuck = item('stuck');
    deadlines.add(stuck);
    for (let i = 0; i < 100_000; i++) {
      const answered = item(`r${i}`);
      deadlines.add(answered);
      deadlines.done(answered);
    }
    const kept = (deadlines as unknown as { items: unknown[]; head: number }).items.length;
    expect(kept).toBeLessThan(3000);
    vi.advanceTimersByTime(60_000);
    expect(expired).toEqual(['stuck']);
  });

  it('stop() gives up nothing more', () => {
    vi.useFakeTimers();
    const expired: string[] = [];
    const deadlines = new Deadlines<Item>(10, (i) => expired.push(i.name));
    deadlines.add(item('a'));
    deadlines.stop();
    vi.advanceTimersByTime(100);
    expect(expired).toEqual([]);
  });
});
