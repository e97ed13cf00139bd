import type { Argv, CommandModule } from 'yargs';
import { DETACHED_STATE, controlTokenOption, stateOption, type ControlTokenArgs, type StateArgs } from '../shared/options.js';
import { parseDuration } from '../shared/usage.js';

interface StopArgs extends StateArgs, ControlTokenArgs {
  timeout: string;
}

export const stopCommand: CommandModule<object, StopArgs> = {
  command: 'stop',
  describe: "Stop the simulator 'serve --detach' started with this --state: records flushed, a one-line summary; exit 1 when none runs",
  builder: (yargs: Argv) =>
    yargs
      .options({
        ...stateOption(DETACHED_STATE),
        ...controlTokenOption('Bearer token, if the simulator was started with one (for the counts)'),
        timeout: { type: 'string', default: '10s', describe: 'How long to wait for it to stop before killing it' },
      })
      .example('$0 stop', 'stops the simulator of ./.apns-mock'),
  handler: async (args) => {
    const timeoutMs = parseDuration(args.timeout, 'timeout');
    const { stopDetached } = await import('./run.js');
    process.exitCode = await stopDetached({ state: args.state, controlToken: args['control-token'], timeoutMs });
  },
};
