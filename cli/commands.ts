import type { CommandModule } from 'yargs';
import { serveCommand } from './serve/command.js';

// One file per command; each line below registers one. Keep one command per line.
export const commands: CommandModule<any, any>[] = [
  serveCommand,
  (await import('./certs/command.js')).certsCommand,
  (await import('./decode/command.js')).decodeCommand,
  (await import('./expect/command.js')).expectCommand,
  (await import('./keys/command.js')).keysCommand,
  (await import('./send/command.js')).sendCommand,
  (await import('./feedback/command.js')).feedbackCommand,
  (await import('./records/command.js')).recordsCommand,
  (await import('./report/command.js')).reportCommand,
  (await import('./stop/command.js')).stopCommand,
  (await import('./status/command.js')).statusCommand,
];
