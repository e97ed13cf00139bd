import type { Argv, CommandModule } from 'yargs';
import { DETACHED_STATE, stateOption, type StateArgs } from '../shared/options.js';

interface StatusArgs extends StateArgs {
  json: boolean;
}

export const statusCommand: CommandModule<object, StatusArgs> = {
  command: 'status',
  describe: "Whether a simulator 'serve --detach' started with this --state runs, and its ports: exit 0 when it does, 1 when not",
  builder: (yargs: Argv) =>
    yargs.options({
      ...stateOption(DETACHED_STATE),
      json: { type: 'boolean', default: false, describe: 'Print one JSON object: running, pid and the facts serve --json printed' },
    }),
  handler: async (args) => {
    const { describeListeners, forgetDaemon, readDaemon } = await import('../shared/daemon.js');
    const daemon = await readDaemon(args.state);
    const running = daemon !== null && daemon.running ? daemon : null;
    if (daemon && !running) await forgetDaemon(args.state);
    if (args.json) {
      process.stdout.write(`${JSON.stringify({ running: running !== null, pid: running?.pid ?? null, ...running?.facts })}\n`);
    } else if (running) {
      process.stdout.write(`apns-mock: running (pid ${running.pid})${running.facts ? `: ${describeListeners(running.facts)}` : ''}\n`);
    } else {
      const stale = daemon ? `; pid ${daemon.pid} has ended, its stale pid file removed` : '';
      process.stdout.write(`apns-mock: not running with --state ${args.state}${stale}\n`);
    }
    process.exitCode = running ? 0 : 1;
  },
};
