import { grants, type TokenStore } from '@streamloop/auth';
import type { Settings } from '@streamloop/config';
import { openEmbeddedSession, startClickHouseHttp, type ClickHouseHttpUser } from '@streamloop/clickhouse';
import type { Logger } from '@streamloop/observability';
import { embeddedChdbDirOf } from './chdb-lock';

export interface ServedClickHouseHttp {
  url: string;
  close(): Promise<void>;
}

/**
 * The users CLICKHOUSE_HTTP_* define: the read-only analyst, and the read-write service user when it has a password.
 * With auth on, an analyst without a password is not served (anyone on the machine could read every table): analysts
 * then sign in with a token of scope `read` (user = its name, password = the token), or CLICKHOUSE_HTTP_PASSWORD.
 */
export function clickHouseHttpUsers(http: NonNullable<Settings['clickhouseHttp']>, authEnabled = false): ClickHouseHttpUser[] {
  const users: ClickHouseHttpUser[] = authEnabled && !http.password ? [] : [{ name: http.user, password: http.password, readOnly: true }];
  if (http.service) users.push({ name: http.service.user, password: http.service.password, readOnly: false });
  return users;
}

/**
 * ClickHouse's HTTP interface over this process's embedded chDB, when CLICKHOUSE_HTTP_PORT is set (with auth on, also to
 * the holders of `read` tokens): called by the
 * process that owns the chDB directory (it holds the lock), after taking it. With CLICKHOUSE_URL there is no embedded
 * engine to serve: the setting is passed over with a warning (one environment is often shared by every process, and
 * the processes that use the interface through CLICKHOUSE_URL see the port too).
 */
export async function serveClickHouseHttp(settings: Settings, logger: Logger, tokens: TokenStore): Promise<ServedClickHouseHttp | undefined> {
  const http = settings.clickhouseHttp;
  if (!http) return undefined;
  const dataDir = embeddedChdbDirOf(settings);
  if (!dataDir) {
    logger.warn({ clickhouseUrl: settings.clickhouseUrl }, 'CLICKHOUSE_HTTP_PORT is set but this process uses a ClickHouse server (CLICKHOUSE_URL): no HTTP interface is served from it');
    return undefined;
  }
  const session = await openEmbeddedSession({ dataDir, database: settings.clickhouseDatabase });
  try {
    const log = logger.child({ component: 'clickhouse-http' });
    const server = await startClickHouseHttp({
      session, host: http.host, port: http.port, users: clickHouseHttpUsers(http, settings.auth.enabled),
      // The platform's tokens with scope read sign in as read-only users: user = the token's name, password = the token.
      authenticate: settings.auth.enabled ? (user, password) => {
        const principal = tokens.verify(password, user);
        return principal !== undefined && grants(principal.scopes, 'read');
      } : undefined,
      onError: (error, user) => log.debug({ user, code: error.code, codeName: error.codeName }, 'ClickHouse HTTP query failed'),
    });
    logger.info({ url: server.url, readOnlyUser: http.user, serviceUser: http.service?.user }, 'ClickHouse HTTP interface over embedded chDB');
    return {
      url: server.url,
      async close() {
        await server.close();
        await session.close();
      },
    };
  } catch (error) {
    await session.close();
    throw error;
  }
}
