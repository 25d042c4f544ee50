export { Agent, AgentOptions, AGENT_VERSION } from './agent';
export { AgentConfig } from './config/agent-config';
export { loadConfig, ConfigSources } from './config/load-config';
export * from './errors';
export { planReconcile, DesiredUnit, ObservedUnit, PlannedAction, UnitPlan } from './reconcile/plan';
export { buildSpec, SpecInput } from './spec/build-spec';
export { UnitStatus, systemdStates, toReportMessage } from './report/unit-status';
export { HostPorts } from './runtime/ports';
export { createNativePorts } from './runtime/native-adapters';
