import { STATUS_CODES, statusName } from '../../protocol/binary/constants.js';
import { explain } from '../../protocol/binary/explain.js';
import { parseHexInput } from '../../protocol/binary/hex.js';
import { api } from './api.js';
import { byId, h, replaceChildren } from './dom.js';
import { renderExplanation } from './explain-view.js';
import { normalizeToken, shortToken } from './model.js';

type Notify = (message: string, kind?: 'ok' | 'error') => void;

/**
 * The paste box: hex read as `apns-mock decode` reads it and explained by the same
 * `explain`, here in the page; the bytes are sent nowhere.
 */
export function setUpExplainBox(): void {
  const input = byId<HTMLTextAreaElement>('hex-input');
  const strict = byId<HTMLInputElement>('hex-strict');
  const output = byId('hex-output');
  let timer: number | undefined;
  const run = () => {
    const text = input.value;
    if (text.trim() === '') {
      replaceChildren(output);
      input.removeAttribute('aria-invalid');
      return;
    }
    try {
      const bytes = parseHexInput(text);
      input.removeAttribute('aria-invalid');
      replaceChildren(output, renderExplanation(explain(bytes, { strict: strict.checked })));
    } catch (error) {
      input.setAttribute('aria-invalid', 'true');
      replaceChildren(output, h('p', { class: 'input-error' }, error instanceof Error ? error.message : String(error)));
    }
  };
  input.addEventListener('input', () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(run, 120);
  });
  strict.addEventListener('change', run);
}

interface RuleView {
  id: string;
  description: string | null;
  match: Record<string, unknown>;
  action: { type: string; status?: number; reason?: string };
  fired: number;
  times: number | null;
}

function describeRule(rule: RuleView): string {
  const action =
    rule.action.type === 'reject' && rule.action.status !== undefined
      ? `reject with status ${rule.action.status} ${statusName(rule.action.status)}`
      : rule.action.type;
  const when = Object.entries(rule.match)
    .map(([key, value]) =>
      key === 'token' && typeof value === 'string' ? `token ${shortToken(value)}` : `${key} ${JSON.stringify(value)}`,
    )
    .join(', ');
  return `${action}${when ? ` when ${when}` : ' (every notification)'}; fired ${rule.fired}${rule.times === null ? '' : ` of ${rule.times}`} time${rule.fired === 1 ? '' : 's'}`;
}

export class RuleTools {
  private readonly list = byId<HTMLUListElement>('rules');

  constructor(private readonly notify: Notify) {
    const status = byId<HTMLSelectElement>('rule-status');
    for (const code of STATUS_CODES.filter((c) => c !== 0))
      status.append(h('option', { value: code, selected: code === 8 }, `${code} ${statusName(code)}`));
    byId<HTMLFormElement>('rule-form').addEventListener('submit', (event) => {
      event.preventDefault();
      void this.add();
    });
    byId<HTMLFormElement>('uninstall-form').addEventListener('submit', (event) => {
      event.preventDefault();
      void this.uninstall();
    });
  }

  /** Fills the rule form with a token and moves there. */
  prefillRule(token: string): void {
    byId<HTMLInputElement>('rule-token').value = token;
    byId<HTMLInputElement>('rule-token').focus();
  }

  prefillUninstall(token: string, topic: string | null): void {
    byId<HTMLInputElement>('uninstall-token').value = token;
    byId<HTMLInputElement>('uninstall-topic').value = topic ?? '';
    byId<HTMLInputElement>('uninstall-token').focus();
  }

  async refresh(): Promise<void> {
    const rules = await api<RuleView[]>('GET', 'rules');
    if (rules.length === 0) {
      replaceChildren(this.list, h('li', { class: 'muted' }, "No rules: the gateway judges by Apple's rules alone."));
      return;
    }
    replaceChildren(
      this.list,
      ...rules.map((rule) =>
        h(
          'li',
          null,
          h('code', null, rule.id),
          ' ',
          describeRule(rule),
          rule.description ? h('span', { class: 'muted' }, ` (${rule.description})`) : null,
          ' ',
          h(
            'button',
            { type: 'button', class: 'small', 'aria-label': `Remove rule ${rule.id}`, onclick: () => void this.remove(rule.id) },
            'Remove',
          ),
        ),
      ),
    );
  }

  private async add(): Promise<void> {
    const token = normalizeToken(byId<HTMLInputElement>('rule-token').value);
    const status = Number(byId<HTMLSelectElement>('rule-status').value);
    const description = byId<HTMLInputElement>('rule-description').value.trim();
    try {
      const rule = await api<RuleView>('POST', 'rules', {
        match: { token },
        action: { type: 'reject', status },
        ...(description ? { description } : {}),
      });
      this.notify(`Rule ${rule.id} added: notifications to ${shortToken(token)} are rejected with status ${status} ${statusName(status)}.`);
      await this.refresh();
    } catch (error) {
      this.notify(`The rule was not added: ${(error as Error).message}`, 'error');
    }
  }

  private async remove(id: string): Promise<void> {
    try {
      await api('DELETE', `rules/${encodeURIComponent(id)}`);
      this.notify(`Rule ${id} removed.`);
      await this.refresh();
    } catch (error) {
      this.notify(`Rule ${id} was not removed: ${(error as Error).message}`, 'error');
    }
  }

  private async uninstall(): Promise<void> {
    const token = normalizeToken(byId<HTMLInputElement>('uninstall-token').value);
    const topic = byId<HTMLInputElement>('uninstall-topic').value.trim();
    try {
      await api('POST', 'uninstall', { token, ...(topic ? { topic } : {}) });
      this.notify(`Uninstalled ${shortToken(token)}${topic ? ` for ${topic}` : ''}: the feedback service now reports it.`);
    } catch (error) {
      this.notify(`The token was not uninstalled: ${(error as Error).message}`, 'error');
    }
  }
}
