"""Exporting the call log (CSV and JSON Lines), streamed in chunks with secrets redacted.

On PostgreSQL the rows come from ``COPY ... TO STDOUT`` with the formatting and redaction
done in SQL; elsewhere from the ORM in Python, byte for byte the same (issue 14's audit).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC

from django.core.exceptions import EmptyResultSet
from django.db import connection

from questionbank.encryption import scrub_url_credentials
from questionbank.services.calllogs import _SECRET_HEADERS, REDACTED, redact_headers

# Every stored column, in this order, in both export formats. JSON columns are exported as
# JSON (nested objects in JSON Lines, JSON text in CSV).
EXPORT_FIELDS = (
    "id", "created_at", "endpoint_id", "endpoint_name", "protocol", "method", "url", "route",
    "server_version", "outcome", "response_status", "error_class", "error_message", "retryable",
    "latency_ms", "prompt_tokens", "completion_tokens", "attempt", "response_size", "job_id",
    "batch_id", "problem_id", "problem_version", "template_id", "user_id", "request_headers",
    "request_body", "response_body", "sanitize_report", "prev_hash", "row_hash",
)
EXPORT_FORMATS = ("csv", "jsonl")
_JSON_FIELDS = ("request_headers", "sanitize_report")
# Text that may hold a URL with credentials (rows from before they were scrubbed on write).
_SCRUBBED_FIELDS = ("url", "error_message")
# Rows are written out in pieces of about this many characters (fewer, larger writes).
_EXPORT_BUFFER_CHARS = 256 * 1024


def jsonb_ordered(value):
    """``value`` with every object's keys in PostgreSQL's jsonb order (shorter keys first,
    then by bytes), so the Python export and the COPY export write the same JSON text."""
    if isinstance(value, dict):
        return {k: jsonb_ordered(value[k])
                for k in sorted(value, key=lambda k: (len(k.encode()), k.encode()))}
    if isinstance(value, list):
        return [jsonb_ordered(v) for v in value]
    return value


def _export_value(name: str, value):
    if name == "created_at":
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if name in _JSON_FIELDS and isinstance(value, str):
        # Some databases hand JSON back as text; export it as the structure it is.
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if name == "request_headers" and isinstance(value, dict):
        value = redact_headers(value)
    if name in _JSON_FIELDS:
        return jsonb_ordered(value)
    if name in _SCRUBBED_FIELDS and value:
        return scrub_url_credentials(value)
    return value


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def calllog_export(*, queryset, fmt: str, chunk_size: int = 500, tally: dict | None = None):
    """Yield the rows of ``queryset`` as CSV (with a header line) or JSON Lines text.

    Streams, oldest row first, in pieces of about 256 KB, for ``StreamingHttpResponse`` or
    a file; memory stays flat however many rows are exported. On PostgreSQL the rows are
    formatted and redacted by the database itself and read with ``COPY ... TO STDOUT``
    (``_export_copy``); elsewhere they are read with ``iterator(chunk_size)``. Both write
    the same text. Redaction on the way out, whatever is stored: secret-bearing headers,
    and ``user:password@`` in URLs. ``tally["rows"]``, when given, counts the rows
    written.
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"Unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}.")
    tally = {} if tally is None else tally
    tally["rows"] = 0
    if connection.vendor == "postgresql":
        yield from _export_copy(queryset, fmt, tally)
        return
    rows = queryset.order_by("id").values_list(*EXPORT_FIELDS).iterator(chunk_size=chunk_size)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n") if fmt == "csv" else None
    if writer is not None:
        writer.writerow(EXPORT_FIELDS)
    for values in rows:
        tally["rows"] += 1
        record = [_export_value(name, value) for name, value in zip(EXPORT_FIELDS, values,
                                                                    strict=True)]
        if writer is not None:
            writer.writerow([_csv_cell(v) for v in record])
        else:
            buffer.write(json.dumps(dict(zip(EXPORT_FIELDS, record, strict=True)),
                                    ensure_ascii=False, default=str))
            buffer.write("\n")
        if buffer.tell() >= _EXPORT_BUFFER_CHARS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


# The COPY export's SQL, column by column: the same text as _export_value + _csv_cell
# (CSV) or json.dumps (JSON Lines) write. "q" is the filtered queryset as a subquery.
_URL_USERINFO_SQL = r"([a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@?#]*@"
_INT_FIELDS = {"id", "endpoint_id", "response_status", "latency_ms", "prompt_tokens",
               "completion_tokens", "attempt", "response_size", "job_id", "batch_id",
               "problem_id", "problem_version", "template_id", "user_id"}


def _copy_value_sql(name: str) -> str:
    """An SQL expression giving column ``name`` as text, redacted, NULL for nothing."""
    column = f"q.{name}"
    if name in _INT_FIELDS:
        return f"{column}::text"
    if name == "created_at":
        return (f"to_char({column} AT TIME ZONE 'UTC', "
                "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')")
    if name == "retryable":
        return f"CASE WHEN {column} THEN 'true' WHEN NOT {column} THEN 'false' END"
    if name == "request_headers":
        secret = ", ".join(f"'{h}'" for h in sorted(_SECRET_HEADERS))
        return (f"COALESCE((SELECT jsonb_object_agg(k, CASE WHEN lower(k) IN ({secret}) "
                f"THEN to_jsonb('{REDACTED}'::text) ELSE v END) "
                f"FROM jsonb_each({column}) AS h(k, v)), '{{}}'::jsonb)::text")
    if name in _JSON_FIELDS:
        return f"{column}::text"
    if name in _SCRUBBED_FIELDS:
        return f"regexp_replace({column}, '{_URL_USERINFO_SQL}', '\\1[redacted]@', 'g')"
    return column


def _copy_sql(fmt: str) -> str:
    if fmt == "csv":
        # NULLIF: an empty string is written unquoted, as Python's csv module writes it.
        columns = ", ".join(
            (_copy_value_sql(n) if n in _INT_FIELDS else f"NULLIF({_copy_value_sql(n)}, '')")
            + f' AS "{n}"' for n in EXPORT_FIELDS)
        return f"COPY (SELECT {columns} FROM ({{query}}) q ORDER BY q.id) TO STDOUT " \
               "WITH (FORMAT csv, HEADER)"
    parts = []
    for n in EXPORT_FIELDS:
        value = _copy_value_sql(n)
        if n not in _INT_FIELDS and n not in _JSON_FIELDS and n != "retryable":
            value = f"to_json({value})::text"
        parts.append(f"'\"{n}\": ' || COALESCE({value}, 'null')")
    line = "'{' || " + " || ', ' || ".join(parts) + " || '}'"
    # CSV with a quote and delimiter no JSON text holds: each line is written as it is.
    return (f"COPY (SELECT {line} FROM ({{query}}) q ORDER BY q.id) TO STDOUT "
            "WITH (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')")


def _export_copy(queryset, fmt: str, tally: dict):
    query = queryset.order_by().values_list(*EXPORT_FIELDS)
    try:
        sql, params = query.query.sql_with_params()
    except EmptyResultSet:  # a filter that matches nothing (e.g. ``.none()``)
        if fmt == "csv":
            yield ",".join(EXPORT_FIELDS) + "\n"
        return
    pending, size = [], 0
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor: Django's wrapper has no copy()
        with raw.copy(_copy_sql(fmt).replace("{query}", sql), params or None) as copy:
            for data in copy:
                pending.append(bytes(data))
                size += len(data)
                if size >= _EXPORT_BUFFER_CHARS:
                    yield b"".join(pending).decode("utf-8")
                    pending, size = [], 0
        tally["rows"] = raw.rowcount
    if pending:
        yield b"".join(pending).decode("utf-8")
