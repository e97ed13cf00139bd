import { describe, expect, it } from 'vitest';
import { fuzzGateway } from '../../scripts/reliability/fuzz-run.js';

describe('mutated golden frames and random bytes over real TLS', () => {
  it('100,000 frames on 400 connections: no fault escapes, every connection ends with a record and a close or an error response, memory stays bounded', async () => {
    const report = await fuzzGateway({
      frames: 100_000,
      perConnection: 250,
      concurrency: 8,
      seed: 20_260_101,
      timeLimitMs: 90_000,
      maxRecords: 5000,
    });
    process.stdout.write(`fuzz: ${JSON.stringify(report)}\n`);
    expect(report.stoppedByTime).toBe(false);
    expect(report.frames).toBe(100_000);
    expect(report.internalErrors).toBe(0);
    expect(report.uncaughtExceptions).toBe(0);
    expect(report.handshakeFailures).toBe(0);
    expect(report.ends.hung).toBe(0);
    expect(report.ends.unexpectedReply).toBe(0);
    expect(report.ends.errorResponse + report.ends.closed).toBe(report.connections);
    expect(report.connectionsWithoutRecord).toBe(0);
    expect(report.openAfter).toBe(0);
    // Every kind of input was sent, and every outcome came of them.
    for (const count of Object.values(report.byKind)) expect(count).toBeGreaterThan(5_000);
    for (const outcome of ['accepted', 'rejected', 'discarded', 'incomplete']) expect(report.recordsByOutcome[outcome]).toBeGreaterThan(5);
    // Each connection has one frame judged wrong at most (the gateway closes after it): most of them did.
    expect(report.recordsByOutcome.rejected).toBeGreaterThan(report.connections / 2);
    expect(report.ends.errorResponse).toBeGreaterThan(report.connections / 4);
    expect(report.ends.closed).toBeGreaterThan(report.connections / 10);
    // 5000 records of at most a few KB each, plus the simulator: far below what 100,000 frames would take if kept.
    expect(report.heapAfterMb - report.heapBeforeMb).toBeLessThan(48);
  }, 120_000);
});
