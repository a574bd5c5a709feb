"""Runs queries through clickhouse-connect (PyPI) against a ClickHouse HTTP endpoint: Streamloop's embedded one in the
integration test (test/integration/clickhouse-http.test.ts), or any server.

    bash scripts/python/run.sh scripts/python/clickhouse_http_check.py URL USER PASSWORD QUERY_FILE

QUERY_FILE holds the queries, separated by lines of `;;`. Prints one JSON line per query: {"rows": [...], "columns": [...]}
or {"error": "...", "code": N}.
"""
import json
import sys

try:
    import clickhouse_connect
except ImportError as e:  # pragma: no cover - reported to the caller
    sys.exit(f'clickhouse_http_check.py: {e}; run it with bash scripts/python/run.sh (the project venv, scripts/python/requirements.txt)')

from urllib.parse import urlparse


def main() -> None:
    url, user, password, query_file = sys.argv[1:5]
    u = urlparse(url)
    client = clickhouse_connect.get_client(host=u.hostname, port=u.port, username=user, password=password,
                                           secure=u.scheme == 'https', autogenerate_session_id=False)
    with open(query_file, encoding='utf-8') as f:
        queries = [q.strip() for q in f.read().split('\n;;\n') if q.strip()]
    for q in queries:
        try:
            result = client.query(q)
            rows = [[v if isinstance(v, (int, float, str, bool)) or v is None else str(v) for v in row] for row in result.result_rows]
            print(json.dumps({'columns': list(result.column_names), 'rows': rows}), flush=True)
        except Exception as e:  # noqa: BLE001 - every failure is reported as data
            code = getattr(e, 'code', None)
            print(json.dumps({'error': str(e)[:500], 'code': code}), flush=True)


if __name__ == '__main__':
    main()
