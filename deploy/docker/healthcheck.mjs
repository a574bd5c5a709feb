#!/usr/bin/env node
// The image's HEALTHCHECK: GET the target's health endpoint, exit 0 on a 2xx answer, 1 otherwise (or after 4 s).
// The services answer on http://127.0.0.1:$PORT/health; a process that runs only the built-in schema registry has no
// services API, so its container sets STREAMLOOP_HEALTHCHECK_URL (e.g. http://127.0.0.1:8081/subjects), which needs a
// token: the process's own STREAMLOOP_TOKEN is sent when it has one (/health itself is open unless
// STREAMLOOP_AUTH_OPEN_HEALTH=false, and then it needs the token too).
const url = process.env.STREAMLOOP_HEALTHCHECK_URL || `http://127.0.0.1:${process.env.PORT || '8080'}/health`;
try {
  const headers = process.env.STREAMLOOP_TOKEN ? { authorization: `Bearer ${process.env.STREAMLOOP_TOKEN}` } : {};
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(4000) });
  if (!res.ok) {
    console.error(`healthcheck: ${url} answered HTTP ${res.status}: ${(await res.text()).slice(0, 500)}`);
    process.exit(1);
  }
  process.exit(0);
} catch (error) {
  console.error(`healthcheck: ${url} did not answer: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
