export * from './reasons.js';
export * from './constants.js';
export * from './validate.js';
export * from './jwt.js';
export * from './broadcast.js';
export * from './explain.js';
export * from './uuid.js';
