import { once } from 'node:events';
import { connect } from 'node:tls';
import type { ClientNotification } from '../../client/index.js';
import { tokenBytes } from '../../protocol/binary/index.js';
import { MARKER } from './frames.js';

const WRITE = 64 * 1024;

export interface RawTarget {
  host: string;
  port: number;
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
}

/**
 * The least a sender must do: lay out each notification's command-2 frame (JSON.stringify of
 * its payload object, token, identifier, expiry) into 64 KB blocks, one write per block on
 * one TLS connection, then one flush marker; resolves at the gateway's answer to it, which
 * proves every frame before it. No buffer of what was sent, no outcomes, no resends.
 */
export async function rawSend(target: RawTarget, count: number, make: (i: number) => ClientNotification): Promise<void> {
  const socket = connect({ host: target.host, port: target.port, cert: target.cert, key: target.key, ca: target.ca });
  socket.setNoDelay(true);
  await once(socket, 'secureConnect');
  const answer = new Promise<Buffer>((resolve, reject) => {
    socket.once('data', resolve);
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('the gateway closed before it answered the marker')));
  });
  let block = Buffer.allocUnsafe(WRITE);
  let used = 0;
  for (let i = 0; i < count; i++) {
    const n = make(i);
    const token = tokenBytes(n.token);
    const payload = JSON.stringify(n.payload);
    // 5-byte frame header, then items: token, payload, identifier, expiry (3-byte header each).
    if (used + 5 + 3 + token.length + 3 + payload.length * 3 + 7 + 7 > block.length) {
      if (!socket.write(block.subarray(0, used))) await once(socket, 'drain');
      block = Buffer.allocUnsafe(WRITE);
      used = 0;
    }
    const start = used;
    let p = start + 5;
    block[p] = 1;
    block.writeUInt16BE(token.length, p + 1);
    p += 3 + token.copy(block, p + 3);
    const length = block.write(payload, p + 3);
    block[p] = 2;
    block.writeUInt16BE(length, p + 1);
    p += 3 + length;
    block[p] = 3;
    block.writeUInt16BE(4, p + 1);
    block.writeUInt32BE(i + 1, p + 3);
    p += 7;
    block[p] = 4;
    block.writeUInt16BE(4, p + 1);
    block.writeUInt32BE(n.expiry ?? 0, p + 3);
    p += 7;
    block[start] = 2;
    block.writeUInt32BE(p - start - 5, start + 1);
    used = p;
  }
  socket.write(block.subarray(0, used));
  socket.write(MARKER);
  const reply = await answer;
  socket.destroy();
  // Status 2 for identifier 0: the marker's answer. Anything else means a frame was rejected.
  if (reply[1] !== 2 || reply.readUInt32BE(2) !== 0)
    throw new Error(`the gateway answered status ${reply[1]} for identifier ${reply.readUInt32BE(2)}`);
}
