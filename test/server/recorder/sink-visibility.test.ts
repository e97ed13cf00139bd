import { describe, expect, it } from 'vitest';
import { encodeNotification } from '../../../protocol/binary/index.js';
import { startSimulator } from '../../../server/index.js';
import { sendFrames } from '../../support/provider-socket.js';

const TOKEN = 'aa'.repeat(32);

// Issue 12, row 4: a record file on a full disk stops writing, and says so where people look.
describe('a failed record file, as the control API and the event stream tell it', () => {
  it('/stats carries the sink state, the SSE stream a `sink` event, and recording goes on in memory', async () => {
    const sim = await startSimulator({ record: '/dev/full' });
    try {
      const events = await fetch(`${sim.controlUrl}/events`, { headers: { accept: 'text/event-stream' } });
      const reader = events.body!.getReader();
      const frames = (identifier: number) =>
        encodeNotification({ token: TOKEN, payload: { aps: { alert: `n${identifier}` } }, identifier }, 2);
      await sendFrames(sim.ports.gateway, sim.credentials, Buffer.concat([frames(1), frames(2)]));
      await sim.waitFor({}, { count: 2 });

      let text = '';
      const decoder = new TextDecoder();
      while (!/event: sink\n/.test(text)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value);
      }
      await reader.cancel();
      const sinkEvent = /event: sink\ndata: (.*)\n/.exec(text);
      expect(sinkEvent).not.toBeNull();
      expect(JSON.parse(sinkEvent![1])).toMatchObject({ path: '/dev/full', failed: true, error: expect.stringMatching(/^ENOSPC/) });

      const stats = (await (await fetch(`${sim.controlUrl}/stats`)).json()) as {
        records: { total: number };
        sink: { failed: boolean; error: string };
      };
      expect(stats.sink).toMatchObject({ failed: true, error: expect.stringMatching(/^ENOSPC/) });
      expect(stats.records.total).toBe(2);
      await sendFrames(sim.ports.gateway, sim.credentials, frames(3));
      expect((await sim.waitFor({ identifier: 3 }))[0].outcome).toBe('accepted');
    } finally {
      await sim.close();
    }
  });
});
