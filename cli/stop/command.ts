import type { Argv, CommandModule } from 'yargs';
import { parseDuration } from '../shared/usage.js';

interface StopArgs {
  state: string;
  'control-token'?: string;
  timeout: string;
}

export const stopCommand: CommandModule<object, StopArgs> = {
  command: 'stop',
  describe: "Stop the simulator 'serve --detach' started with this --state: records flushed, a one-line summary; exit 1 when none runs",
  builder: (yargs: Argv) =>
    yargs
      .option('state', { type: 'string', default: '.apns-mock', describe: "State directory given to 'serve --detach'" })
      .option('control-token', { type: 'string', describe: 'Bearer token, if the simulator was started with one (for the counts)' })
      .option('timeout', { type: 'string', default: '10s', describe: 'How long to wait for it to stop before killing it' })
      .example('$0 stop', 'stops the simulator of ./.apns-mock'),
  handler: async (args) => {
    const timeoutMs = parseDuration(args.timeout, 'timeout');
    const { stopDetached } = await import('./run.js');
    process.exitCode = await stopDetached({ state: args.state, controlToken: args['control-token'], timeoutMs });
  },
};
