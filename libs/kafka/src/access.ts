// Must load before kafkajs: it replaces kafkajs' read_committed filter (see the file).
import './aborted-filter';
import kafkajs from 'kafkajs';
import { createKafka, type KafkaConnectionOptions } from './client';
import { KAFKA_DEFAULTS } from './defaults';

/** What kept a process from the brokers, for a message that says what to change. */
export type KafkaAccessFailure = 'authentication' | 'untrusted-certificate' | 'certificate-name' | 'tls' | 'unreachable';

/**
 * The brokers refused this client, or could not be reached in time: a process stops at start with this (it is fatal,
 * not retried), its message naming the cause and the settings to check. It never carries a password.
 */
export class KafkaAccessError extends Error {
  constructor(readonly failure: KafkaAccessFailure, message: string) {
    super(message);
    this.name = 'KafkaAccessError';
  }
}

// OpenSSL's verification results as Node reports them (err.code) when the peer's chain does not lead to a trusted CA.
const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_UNTRUSTED', 'CERT_SIGNATURE_FAILURE', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
  'CERT_REVOKED', 'INVALID_CA', 'CERT_REJECTED', 'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
]);

export interface VerifyKafkaAccessOptions {
  /** How long brokers that do not answer yet are tried again; default KAFKA_DEFAULTS.accessCheckTimeoutMs. */
  timeoutMs?: number;
}

/**
 * Connects once to the brokers as `options` say (TLS, SASL) and asks for the cluster's description. A refused login or a
 * certificate that is not trusted ends the check at once with a KafkaAccessError: kafkajs would retry the second one
 * for half a minute on every client, and neither heals by waiting. Brokers that refuse connections or time out (still
 * starting) are tried again until `timeoutMs`. A process runs this before its Kafka clients start, so a wrong password
 * or CA stops it in seconds with the reason instead of leaving it half up.
 */
export async function verifyKafkaAccess(options: KafkaConnectionOptions, opts: VerifyKafkaAccessOptions = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? KAFKA_DEFAULTS.accessCheckTimeoutMs;
  const deadline = Date.now() + timeoutMs;
  // One try per round (retries 0): the rounds below decide what is worth another try.
  const kafka = createKafka({ ...options, retry: { initialRetryTime: 100, maxRetryTime: 1_000, retries: 0 }, log: () => undefined });
  let last: unknown;
  for (let round = 0; ; round++) {
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.describeCluster();
      return;
    } catch (error) {
      last = error;
      const fatal = describeAccessFailure(error, options);
      if (fatal) throw fatal;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, Math.min(1_000, 100 * 2 ** round, Math.max(0, deadline - Date.now()))));
  }
  // By name: kafkajs' types lack this class.
  const closed = chain(last).some((e) => e.name === 'KafkaJSConnectionClosedError' || /closed connection|connection closed/i.test(e.message));
  const hint = closed && !options.ssl
    ? ' (the brokers closed the connection at once, as a TLS listener does to a plaintext client: do they need KAFKA_SSL=true?)'
    : '';
  throw new KafkaAccessError('unreachable',
    `Kafka brokers ${options.brokers.join(',')} did not answer within ${Math.round(timeoutMs / 1000)} s: ${messageOf(last)}${hint}`);
}

/** A KafkaAccessError when `error` is one no retry can fix (a refused login, an untrusted certificate), else undefined. */
export function describeAccessFailure(error: unknown, options: Pick<KafkaConnectionOptions, 'brokers' | 'ssl' | 'tls' | 'sasl'>): KafkaAccessError | undefined {
  const errors = chain(error);
  const sasl = errors.find((e) => e instanceof kafkajs.KafkaJSSASLAuthenticationError);
  if (sasl) {
    const who = options.sasl ? `user ${options.sasl.username} (SASL ${options.sasl.mechanism.toUpperCase()})` : 'this client (no SASL configured)';
    return new KafkaAccessError('authentication',
      `Kafka authentication failed for ${who} at ${options.brokers.join(',')}: ${sasl.message}; check KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD`);
  }
  const codeOf = (e: Error) => { const code = (e as { code?: unknown }).code; return typeof code === 'string' ? code : undefined; };
  const tls = errors.find((e) => tlsCode(codeOf(e) ?? ''));
  if (!tls) return undefined;
  const code = codeOf(tls)!;
  const broker = (tls as { broker?: string }).broker ?? options.brokers.join(',');
  const reason = tls.message.replace(/^Connection error: /, '');
  if (UNTRUSTED.has(code)) {
    const fix = options.tls?.caFile
      ? `KAFKA_SSL_CA_FILE (${options.tls.caFile}) is not the CA that signed it: set it to that CA's certificate`
      : 'set KAFKA_SSL_CA_FILE to the CA certificate that signed it';
    return new KafkaAccessError('untrusted-certificate', `TLS: the certificate of Kafka broker ${broker} is not trusted (${reason}, ${code}): ${fix}`);
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new KafkaAccessError('certificate-name',
      `TLS: the certificate of Kafka broker ${broker} is not for that host name (${reason}): connect by a name the certificate lists (KAFKA_BROKERS)`);
  }
  return new KafkaAccessError('tls', `TLS: the handshake with Kafka broker ${broker} failed (${reason}, ${code}): is it a TLS listener, and are KAFKA_SSL_* right?`);
}

/** Node's codes of a TLS failure: certificate verification, or the handshake itself (EPROTO, ERR_SSL_*, ERR_TLS_*). */
function tlsCode(code: string): boolean {
  return UNTRUSTED.has(code) || code === 'EPROTO' || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_');
}

/** The error and its causes (kafkajs wraps the last failure of a retried request). */
function chain(error: unknown): Error[] {
  const out: Error[] = [];
  let e: unknown = error;
  while (e instanceof Error && out.length < 10) {
    out.push(e);
    e = (e as { cause?: unknown }).cause;
  }
  return out;
}

function messageOf(error: unknown): string {
  const errors = chain(error);
  return errors.length === 0 ? String(error) : errors.map((e) => e.message).filter((m, i, all) => all.indexOf(m) === i).join(': ');
}
