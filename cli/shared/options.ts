/**
 * The options several commands share, defined once each: spread them into yargs' `.options({...})`
 * where the command lists its options (the help keeps that order). `describe` says what the
 * option means for that command.
 */

export const DEFAULT_STATE = '.apns-mock';
export const DEFAULT_HOST = '127.0.0.1';
/** What stop and status read: the files 'serve --detach' wrote there. */
export const DETACHED_STATE = "State directory given to 'serve --detach'";

export interface StateArgs {
  state: string;
}

export interface ControlTokenArgs {
  'control-token'?: string;
}

export interface ControlArgs extends ControlTokenArgs {
  'control-port'?: number;
}

/** `--state`: the state directory, `.apns-mock` unless told. */
export const stateOption = (describe: string) => ({ state: { type: 'string' as const, default: DEFAULT_STATE, describe } });

/** `--host`, 127.0.0.1 unless told. */
export const hostOption = (describe: string) => ({ host: { type: 'string' as const, default: DEFAULT_HOST, describe } });

/** `--control-token`: the control API's bearer token. */
export const controlTokenOption = (describe = 'Bearer token, if the simulator was started with one') => ({
  'control-token': { type: 'string' as const, describe },
});

/** `--control-port`: serve's default is 2198; a sender has none and reads serve's files first. */
export const controlPortOption = (describe: string, defaultPort?: number) => ({
  'control-port': { type: 'number' as const, describe, ...(defaultPort === undefined ? {} : { default: defaultPort }) },
});

/** `--control-port` and `--control-token`, for a command that asks the control API. */
export const controlOptions = (portDescribe: string, tokenDescribe?: string) => ({
  ...controlPortOption(portDescribe),
  ...controlTokenOption(tokenDescribe),
});
