import type { ImageConfig } from './workload';

/**
 * The settings of the Dockerfile's final stage: WORKDIR, USER, ENV, ENTRYPOINT, CMD, HEALTHCHECK. Only the exec (JSON)
 * forms of ENTRYPOINT, CMD and HEALTHCHECK CMD are accepted: the shell form would run under /bin/sh, which would get
 * the signals instead of node.
 */
export function parseDockerfile(text: string): ImageConfig {
  const lines = joinContinuations(text);
  let stage: ImageConfig | undefined;
  for (const { line, number } of lines) {
    const match = /^(\w+)\s+([\s\S]*)$/.exec(line);
    if (!match) continue;
    const instruction = match[1]!.toUpperCase();
    const rest = match[2]!.trim();
    if (instruction === 'FROM') {
      stage = { workdir: '/', env: {}, entrypoint: [], cmd: [] };
      continue;
    }
    if (!stage) continue;
    const where = `Dockerfile line ${number}`;
    switch (instruction) {
      case 'WORKDIR': stage.workdir = rest.startsWith('/') ? rest : `${stage.workdir.replace(/\/$/, '')}/${rest}`; break;
      case 'USER': stage.user = rest; break;
      case 'ENV': Object.assign(stage.env, parseEnv(rest, where)); break;
      case 'ENTRYPOINT': stage.entrypoint = execForm(rest, `${where} ENTRYPOINT`); break;
      case 'CMD': stage.cmd = execForm(rest, `${where} CMD`); break;
      case 'HEALTHCHECK': {
        const cmd = /(?:^|\s)CMD\s+(\[[\s\S]*\])\s*$/.exec(rest);
        if (rest.trim() === 'NONE') stage.healthcheck = undefined;
        else if (!cmd) throw new Error(`${where} HEALTHCHECK: expected CMD in exec form, ["node", "…"]`);
        else stage.healthcheck = execForm(cmd[1]!, `${where} HEALTHCHECK`);
        break;
      }
      default: break;
    }
  }
  if (!stage) throw new Error('Dockerfile: no FROM');
  return stage;
}

function joinContinuations(text: string): Array<{ line: string; number: number }> {
  const out: Array<{ line: string; number: number }> = [];
  let current = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (current === '' && (line === '' || line.startsWith('#'))) return;
    if (line.startsWith('#')) return; // a comment between continued lines
    if (current === '') start = i + 1;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      return;
    }
    out.push({ line: current + line, number: start });
    current = '';
  });
  if (current) out.push({ line: current, number: start });
  return out;
}

function execForm(text: string, where: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${where}: expected the exec form, a JSON array of strings, got ${text}`);
  }
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) throw new Error(`${where}: expected a JSON array of strings, got ${text}`);
  return parsed;
}

/** `ENV A=1 B="two words"` (the legacy `ENV A 1` form too). */
function parseEnv(text: string, where: string): Record<string, string> {
  if (!text.includes('=')) {
    const [name, ...value] = text.split(/\s+/);
    return { [name!]: value.join(' ') };
  }
  const env: Record<string, string> = {};
  const pair = /([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)\s*/y;
  let i = 0;
  while (i < text.length) {
    pair.lastIndex = i;
    const m = pair.exec(text);
    if (!m) throw new Error(`${where} ENV: cannot read "${text.slice(i)}": expected NAME=value`);
    const raw = m[2]!;
    env[m[1]!] = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw.startsWith("'") ? raw.slice(1, -1) : raw;
    i = pair.lastIndex;
  }
  return env;
}
