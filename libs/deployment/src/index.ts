export type { Workload, Mount, ImageConfig } from './workload';
export { parseDockerfile } from './dockerfile';
export { parseCompose, parseDotEnv, interpolate, composeWorkloads, type ComposeFile } from './compose';
export { parseManifests, kubernetesWorkloads, imageMatches, type K8sObject } from './kubernetes';
export { checkWorkloads, checkScaledObjects, stageGroups, IMAGE_VARIABLES, type StageGroup } from './checks';
export { planLocalProcesses, type LocalProcess, type LocalPlanOptions } from './local-plan';
export { targetsOf, listeningPorts } from './targets';
