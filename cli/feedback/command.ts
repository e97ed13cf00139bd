import type { Argv, CommandModule } from 'yargs';
import { providerOptions, loadCredentials, targetOf, type ProviderArgs } from '../shared/provider-options.js';

interface FeedbackArgs extends ProviderArgs {
  json: boolean;
  timeout: number;
}

export const feedbackCommand: CommandModule<object, FeedbackArgs> = {
  command: 'feedback',
  describe: 'Read the feedback service: the tokens whose app was uninstalled, with when (reading clears the list)',
  builder: (yargs: Argv) =>
    providerOptions(
      yargs
        .option('json', { type: 'boolean', default: false, describe: 'One JSON object per tuple: timestamp, date, token' })
        .option('timeout', { type: 'number', default: 30, describe: 'Seconds to wait for the service to close' }),
      2196,
      'feedback service',
    )
      .example('$0 feedback', "from 'apns-mock serve' on this machine, with the certificate it wrote")
      .example('$0 feedback --host feedback.sandbox.push.apple.com --p12 cert.p12 --passphrase secret --json', ''),
  handler: async (args) => {
    const target = targetOf(args);
    const credentials = await loadCredentials(args);
    const { runFeedback } = await import('./run.js');
    process.exitCode = await runFeedback(target, credentials, {
      json: args.json,
      timeoutMs: Math.max(1, Number(args.timeout) || 30) * 1000,
    });
  },
};
