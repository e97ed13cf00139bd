export * from './binary/index.js';
