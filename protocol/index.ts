export * from './binary/index.js';
export * from './http2/index.js';
