export { serveInspector, ASSET_PREFIX } from './assets.js';
export {
  openEventStream,
  connectionSourcesOf,
  DEFAULT_BACKLOG,
  MAX_BACKLOG,
  type ConnectionSource,
  type ConnectionSummaryLike,
  type EventSources,
} from './events.js';
export { prefersHtml } from './negotiate.js';
