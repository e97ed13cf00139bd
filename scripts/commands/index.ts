import type { CommandModule } from 'yargs';
import { serveCommand } from './serve.js';

// One file per command; each line below registers one. Keep one command per line.
export const commands: CommandModule<any, any>[] = [
  serveCommand,
  (await import('./certs.js')).certsCommand,
  (await import('./decode.js')).decodeCommand,
  (await import('./expect.js')).expectCommand,
  (await import('./keys.js')).keysCommand,
  (await import('./send.js')).sendCommand,
  (await import('./feedback.js')).feedbackCommand,
  (await import('./records.js')).recordsCommand,
];
