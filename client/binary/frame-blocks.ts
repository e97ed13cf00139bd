import type { FrameSink } from '../../protocol/binary/index.js';

/** One write's worth: a socket write of 64 KB costs about what one of 16 KB does. */
export const BLOCK_BYTES = 64 * 1024;

/**
 * Where the client lays out its frames, back to back in 64 KB blocks. A block is only ever
 * appended to, so bytes already handed to the socket never change; a block is freed once no
 * notification in it is held any more.
 */
export class FrameBlocks implements FrameSink {
  buffer: Buffer = Buffer.alloc(0);
  used = 0;

  room(size: number): void {
    if (this.buffer.length - this.used >= size) return;
    this.buffer = Buffer.allocUnsafe(Math.max(BLOCK_BYTES, size));
    this.used = 0;
  }
}
