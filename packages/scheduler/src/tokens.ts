/** Nest injection token of the SchedulerConfig value. */
export const SCHEDULER_CONFIG = Symbol('SCHEDULER_CONFIG');
/** Nest injection token of the root pino logger. */
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');
