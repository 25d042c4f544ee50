export * from './types';
export * from './errors';
export { HostNetwork, GarbageCollectionReport, DEFAULT_BRIDGE_NAME, DEFAULT_CONTAINER_SUBNET } from './host-network';
