import { describe, expect, it } from 'vitest';
import { formatSoak, soak } from '../../scripts/reliability/soak-run.js';

describe('load with seeded faults: BinaryClients over real TLS to apns-mock serve in another process', () => {
  it('50 connections x 200 notifications, 1% faults: every notification settles once, nothing is lost, duplicates only where flagged possibleDuplicate; the records agree', async () => {
    const report = await soak({ connections: 50, perConnection: 200, faultRate: 0.01, seed: 8, timeLimitMs: 60_000 });
    process.stdout.write(`${formatSoak(report)}\n`);
    expect(report.stoppedByTime).toBe(false);
    expect(report.unsettled).toBe(0);
    expect(report.settledTwice).toBe(0);
    expect(report.outcomes.accepted + report.outcomes.rejected + report.outcomes.failed).toBe(10_000);
    expect(report.outcomes.failed).toBe(0);
    expect(report.lost).toBe(0);
    expect(report.rejectionsUnrecorded).toBe(0);
    // Exactly once for every notification not flagged; a duplicate only where the outcome says possibleDuplicate.
    expect(report.unflaggedWrong).toBe(0);
    expect(report.duplicates).toBeLessThanOrEqual(report.flaggedPossibleDuplicate);
    expect(report.unknownRecords).toBe(0);
    expect(report.records).toBe(report.recordsReported);
    // Each kind of fault fired, and the rejected outcomes are exactly the reject rule's.
    for (const rule of ['reject', 'shutdown', 'close', 'drop']) expect(report.faults[rule]).toBeGreaterThan(5);
    expect(report.outcomes.rejected).toBe(report.faults.reject);
    expect(report.silentConnections).toBeGreaterThan(5);
    expect(report.exactlyOnce + report.flaggedPossibleDuplicate).toBeGreaterThanOrEqual(10_000);
    // Measured, not judged here (timing is the soak script's business): the control API answered every poll.
    expect(report.control.polls).toBeGreaterThan(0);
    expect(report.control.failed).toBe(0);
  }, 120_000);
});
