export * from './placement';
export { parseConfig, type SchedulerConfig } from './config/config';
export { KeyLayout } from './store/keys';
export * from './errors';
