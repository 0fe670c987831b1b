"""Query expressions the portal's reads share."""

from typing import TYPE_CHECKING, Any

from django.db.models import BooleanField, Func, JSONField, QuerySet, Subquery

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler


class JSONRows(Subquery):
    """The rows of `queryset` (a values_list() of its model's fields) as one column of the outer query: a list of
    lists, one a row, each holding the row's values in the values_list()'s order; `[]` when there is none.

    A page that shows a few rows of another table beside a row (a booking's attendee names) reads them with it, in
    one statement instead of two. The rows come in no guaranteed order: sort them by a value they carry. Values
    come back as JSON carries them, which PostgreSQL and SQLite write alike only for integers and text (booleans,
    decimals and moments differ): read those.
    """

    # An inner query that can match nothing (pk__in=[]) is not run: the outer row gets no rows, as JSON.
    empty_result_set_value = "[]"

    def __init__(self, queryset: QuerySet[Any, Any]) -> None:
        query = queryset.query
        if not query.values_select or query.annotation_select or query.extra_select:
            raise TypeError("JSONRows reads a values_list() of a model's fields, nothing computed.")
        # A values_list() names each column it reads as it was asked for ("pk", "name"): the outer query's names.
        self.columns = list(query.values_select)
        super().__init__(queryset.order_by(), output_field=JSONField())

    def as_sql(self, compiler, connection, template=None, **extra_context):
        values = ", ".join(f"listed.{connection.ops.quote_name(column)}" for column in self.columns)
        if connection.vendor == "postgresql":
            # jsonb, which Django reads as text and parses as a JSONField's value (json it would be given parsed).
            rows = f"COALESCE(jsonb_agg(jsonb_build_array({values})), '[]'::jsonb)"
        else:
            rows = f"json_group_array(json_array({values}))"
        # Only quoted column names are written into it; the subquery's values are its parameters.
        template = f"(SELECT {rows} FROM (%(subquery)s) AS listed)"  # noqa: S608
        return super().as_sql(compiler, connection, template=template, **extra_context)


class InSubquery(Func):
    """`column IN (subquery)`, written `column = ANY(ARRAY(subquery))` on PostgreSQL.

    The ARRAY form is computed once before the scan, so PostgreSQL can combine it with another
    indexed condition (a BitmapOr); a plain IN (subquery) under an OR makes it read every row.
    """

    output_field = BooleanField()

    def as_sql(
        self,
        compiler: "SQLCompiler",
        connection: "BaseDatabaseWrapper",
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> tuple[str, tuple[Any, ...]]:
        column, subquery = (compiler.compile(expression) for expression in self.get_source_expressions())
        params = (*column[1], *subquery[1])
        if connection.vendor == "postgresql":
            return f"{column[0]} = ANY(ARRAY{subquery[0]})", params
        return f"{column[0]} IN {subquery[0]}", params
