export * from './runtime';
export * from './images';
export * from './network';
