"""Set-based writes for the upload job's hot path: one statement per table and chunk, no model
instance per row. On PostgreSQL inserts are a COPY and updates send one array per column
(``unnest``), so statements stay small whatever the chunk size; other databases get multi-row
VALUES / CASE."""

from __future__ import annotations

from django.db import connection
from django.db.models import DateTimeField, DecimalField, Field

SQLITE_BATCH = 500


def bulk_insert(model, rows: list[dict]) -> None:
    """INSERT ``rows`` ({attname: value}, all with the same keys) into ``model``'s table."""
    if not rows:
        return
    fields = [model._meta.get_field(name) for name in rows[0]]
    quote = connection.ops.quote_name
    table, columns = quote(model._meta.db_table), ", ".join(quote(f.column) for f in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            names = [f.attname for f in fields]
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([row[name] for name in names])
            return
        one = "(" + ", ".join(["%s"] * len(fields)) + ")"
        for start in range(0, len(rows), SQLITE_BATCH):
            batch = rows[start : start + SQLITE_BATCH]
            params = [_prepared(f, row[f.attname]) for row in batch for f in fields]
            cursor.execute(f"INSERT INTO {table} ({columns}) VALUES {', '.join([one] * len(batch))}", params)


def bulk_set(model, field_names: list[str], objects: list) -> None:
    """Write ``field_names`` of ``objects`` back in one UPDATE, all columns together (so row
    constraints spanning them hold)."""
    if not objects:
        return
    fields = [model._meta.get_field(name) for name in field_names]
    quote = connection.ops.quote_name
    table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in [model._meta.pk, *fields])
            names = ", ".join(quote(f.column) for f in fields)
            assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in fields)
            data = [[obj.pk for obj in objects], *([getattr(obj, f.attname) for obj in objects] for f in fields)]
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM unnest({arrays}) AS v(id, {names}) WHERE {table}.{pk} = v.id",
                data,
            )
            return
        assignments, params = [], []
        for f in fields:
            assignments.append(f"{quote(f.column)} = CASE {pk}{' WHEN %s THEN %s' * len(objects)} END")
            params += [item for obj in objects for item in (obj.pk, _prepared(f, getattr(obj, f.attname)))]
        ids = ", ".join(["%s"] * len(objects))
        cursor.execute(
            f"UPDATE {table} SET {', '.join(assignments)} WHERE {pk} IN ({ids})",
            [*params, *(obj.pk for obj in objects)],
        )


def _prepared(field: Field, value):
    if isinstance(field, DateTimeField | DecimalField):
        return field.get_db_prep_save(value, connection)
    return value
