export * from './types';
export * from './place';
export * from './placement-unit';
