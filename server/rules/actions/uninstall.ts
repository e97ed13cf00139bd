import { defineAction, type ActionHandler } from './action.js';

/** Accept, and mark the token uninstalled: it appears in feedback for this app and environment. */
export interface UninstallAction {
  type: 'uninstall';
}

const uninstallToken: ActionHandler<UninstallAction> = (_action, _fired, n, { registry }) => {
  const environment = n.environment === 'production' || n.environment === 'development' ? n.environment : null;
  registry.uninstall(n.tokenHex, { topic: n.bundle, environment });
  return { kind: 'uninstalled' };
};

export const uninstall = defineAction<UninstallAction>({
  type: 'uninstall',
  parse: () => ({ type: 'uninstall' }),
  on: { binary: uninstallToken, http2: uninstallToken },
});
