export * from './process';
export * from './etcd';
export * from './registry';
export * from './images';
