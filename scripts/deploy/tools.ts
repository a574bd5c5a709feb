// Installs the pinned deploy tools when missing: hadolint and kubernetes-validate into a venv (PyPI), kustomize with
// `go install` (the Go module proxy). Idempotent: a second run checks the versions and does nothing.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { hadolintPath, kubernetesValidatePath, kustomizePath, TOOLS } from './common';

const run = (cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env) => execFileSync(cmd, args, { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'inherit'] });

const python = join(TOOLS.venv, 'bin', 'python');
if (!existsSync(python)) run('python3', ['-m', 'venv', TOOLS.venv]);
const installed = run(python, ['-m', 'pip', 'freeze']).split('\n').map((l) => l.trim().toLowerCase());
const missing = TOOLS.pip.filter((p) => !installed.includes(p.toLowerCase()));
if (missing.length > 0) run(python, ['-m', 'pip', 'install', '-q', ...missing]);
console.log(`hadolint            ${run(hadolintPath(), ['--version']).trim()}`);
console.log(`kubernetes-validate ${run(kubernetesValidatePath(), ['--version']).trim()}`);

const kustomize = kustomizePath();
const version = existsSync(kustomize) ? run(kustomize, ['version']).trim() : '';
if (version !== TOOLS.kustomizeVersion) {
  console.log(`installing kustomize ${TOOLS.kustomizeVersion} (go install, a few minutes the first time)`);
  run('go', ['install', `${TOOLS.kustomizeModule}@${TOOLS.kustomizeVersion}`], { ...process.env, GOFLAGS: '-mod=mod' });
}
console.log(`kustomize           ${run(kustomize, ['version']).trim()} (${kustomize})`);
