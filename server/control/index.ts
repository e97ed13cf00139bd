export { ControlApi, ENDPOINTS, isLoopback, type ControlApiOptions } from './control.js';
export { HttpError } from './http.js';
