"""What the Python TechEmpower apps share (tfb_fastapi.py, and through it
benches/tfb/py/tfb_fasterapi.py; tfb_robyn.py; benches/tfb/py/tfb_fasterapi_sync.py): the
queries parameter's clamp, the fortunes page, the statements without parameters (the others
differ by driver: `$1` for asyncpg, `%s` for psycopg), and the pool size.
"""
import os

import jinja2

ALL_ROWS_SQL = 'SELECT "id", "randomnumber" FROM "world"'
FORTUNES_SQL = 'SELECT "id", "message" FROM "fortune"'
POOL_SIZE = int(os.getenv("TFB_POOL", "16"))
TEMPLATE = jinja2.Template(
    "<!DOCTYPE html>\n<html>\n<head><title>Fortunes</title></head>\n<body>\n<table>\n"
    "<tr><th>id</th><th>message</th></tr>\n"
    "{% for id, message in fortunes %}<tr><td>{{ id }}</td><td>{{ message|e }}</td></tr>\n"
    "{% endfor %}</table>\n</body>\n</html>\n"
)


def clamp(queries):
    """The rules' row count: a missing or non-numeric value is 1; at most 500."""
    try:
        n = int(queries)
    except (TypeError, ValueError):
        return 1
    return min(max(n, 1), 500)
