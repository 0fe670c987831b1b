"""Querysets compiled to SQL once per process, then run with each request's values.

Building and compiling a queryset costs more CPU than PostgreSQL takes to answer it: 0.3-0.5 ms for a filter on
a join, 1-2 ms for a union of parts with subqueries, on every request of every page. The queries of the hot pages
have the same shape on every request; only the values differ (the customer, the organisation, today). So
`PreparedQuery(build)` compiles `build(**values)` once per shape, with a marker in place of each value, notes
where each marker landed among the SQL's parameters, and from then on runs that SQL with the request's values put
in their places. It yields what the queryset yields (model instances, select_related, values(), values_list(),
prefetch_related) through Django's own iterables.

What a value is may change the SQL (None or a number, True or False, a window [start:stop]): such values (None,
bools, tuples, slices) are part of the shape, and each shape is compiled once. What a value says may not: ints,
strings, dates and datetimes are parameters. `build` must depend on its arguments only (no `now()` inside): each
shape is compiled twice with different markers, and anything else that differs between the two is refused.

On other databases than PostgreSQL (SQLite, the embedded default) values may be adapted before they are bound,
so the queryset is built and compiled each time, as Django does.
"""

import contextlib
import datetime
import functools
import secrets
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import QuerySet
from django.db.models.sql.compiler import SQLCompiler

# Values whose type makes them a parameter of the compiled SQL; any other value is part of the query's shape.
_PARAMETER_TYPES = (int, str, datetime.date)
# Enough for every page window a list is read at; a crawler asking for page 10,000 evicts the least recent.
_SHAPES_KEPT = 32


class _Compiled:
    """One shape's SQL, where each named value goes among its parameters, and the compiler that knows its columns."""

    def __init__(
        self, queryset: QuerySet, compiler: SQLCompiler, sql: str, params: tuple, slots: dict[int, tuple[str, type]]
    ):
        self.queryset = queryset
        self.compiler = compiler
        self.sql = sql
        self.params = params
        self.slots = slots
        # Which columns Django converts, and with what: the same on every run, so worked out once a connection
        # (a dozen µs for a row of 30 columns, on each run otherwise). Converters may be bound to a connection.
        self._converters: weakref.WeakKeyDictionary[BaseDatabaseWrapper, dict[tuple[int, ...], dict]] = (
            weakref.WeakKeyDictionary()
        )

    def bound(self, values: dict[str, Any]) -> tuple[str, list]:
        params = list(self.params)
        for position, (name, bound_as) in self.slots.items():
            value = values[name]
            params[position] = value if type(value) is bound_as else bound_as(value)
        return self.sql, params

    def results(self, values: dict[str, Any], alias: str) -> list:
        sql, params = self.bound(values)
        compiler = _object_copy(self.compiler)
        compiler.connection = connections[alias]
        # Bound to the connection, not to the compiler: a compiler holding itself would live until the next collection.
        compiler.get_converters = functools.partial(self._converters_for, compiler.connection)  # type: ignore[method-assign]
        # The compiler's columns, converters and related populators were worked out when it compiled; only its SQL
        # is asked for again, and answered with this request's values.
        compiler.as_sql = lambda *args, **kwargs: (sql, params)  # type: ignore[method-assign,assignment]
        query = _object_copy(self.queryset.query)
        query.get_compiler = lambda *args, **kwargs: compiler  # type: ignore[method-assign]
        queryset = _object_copy(self.queryset)
        queryset._result_cache = None
        queryset._prefetch_done = False  # type: ignore[attr-defined]
        # Not through the `query` setter, which would make a values_list() give dicts.
        queryset._query = query  # type: ignore[attr-defined]
        return list(queryset)

    def _converters_for(self, connection: BaseDatabaseWrapper, expressions) -> dict:
        known = self._converters.setdefault(connection, {})
        key = tuple(map(id, expressions))  # the compiled query's own columns, which it keeps alive
        converters = known.get(key)
        if converters is None:
            compiler = _object_copy(self.compiler)
            compiler.connection = connection
            converters = known[key] = SQLCompiler.get_converters(compiler, expressions)
        return converters


def _object_copy[T](thing: T) -> T:
    # copy.copy() would pickle a QuerySet's state, which evaluates it: a shallow copy of the attributes is all that's
    # needed, since what they hold is only read while the results are fetched.
    duplicate = object.__new__(type(thing))
    duplicate.__dict__ = thing.__dict__.copy()
    return duplicate


def _marker(value: Any, name: str) -> Any:
    """A value of `value`'s type that appears nowhere else in a query: where it lands among the params, `name` goes."""
    if isinstance(value, bool) or not isinstance(value, _PARAMETER_TYPES):
        raise TypeError(f"{name}: {type(value).__name__} is not a parameter")
    if isinstance(value, int):
        # Within a 32-bit integer column's range: outside it Django compiles a lookup as matching nothing.
        return 10**9 + secrets.randbelow(10**9)
    if isinstance(value, str):
        return f"\ue000{name}:{secrets.token_hex(8)}\ue001"
    year = 3000 + secrets.randbelow(5000)
    day = datetime.date(year, 1, 1) + datetime.timedelta(days=secrets.randbelow(365))
    if isinstance(value, datetime.datetime):
        moment = datetime.datetime.combine(day, datetime.time(secrets.randbelow(24), 0, 0, secrets.randbelow(10**6)))
        return moment.replace(tzinfo=value.tzinfo)
    return day


def _markers(values: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """A marker for each named value, no two alike (two ints may draw the same number)."""
    markers: dict[str, Any] = {}
    for name in names:
        while (marker := _marker(values[name], name)) in markers.values():
            pass
        markers[name] = marker
    return markers


def _is_parameter(value: Any) -> bool:
    return isinstance(value, _PARAMETER_TYPES) and not isinstance(value, bool)


class PreparedQuery:
    """`build(**values)`'s queryset, compiled once per shape and process; call it with the values to get the results.

    upcoming = PreparedQuery(lambda customer_id, today: Booking.objects.filter(...))
    bookings = upcoming(customer_id=customer.pk, today=today)   # a list, as list(queryset) would be
    """

    def __init__(self, build: Callable[..., QuerySet], *, using: str = DEFAULT_DB_ALIAS) -> None:
        self.build = build
        self.using = using
        self._shapes: OrderedDict[Hashable, _Compiled] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, **values: Any) -> list:
        if connections[self.using].vendor != "postgresql":
            return list(self.build(**values))
        return self._compiled(values).results(values, self.using)

    def count(self, **values: Any) -> int:
        """How many rows the queryset would give, in one query."""
        if connections[self.using].vendor != "postgresql":
            return self.build(**values).count()
        sql, params = self._compiled(values).bound(values)
        with connections[self.using].cursor() as cursor:
            # `sql` is Django's compilation of the queryset: its values are in `params`.
            cursor.execute(f"SELECT COUNT(*) FROM ({sql}) AS counted", params)  # noqa: S608
            return cursor.fetchone()[0]

    def sql(self, **values: Any) -> tuple[str, list]:
        """The SQL and parameters run for `values`, to embed as a subquery or to explain."""
        return self._compiled(values).bound(values)

    def _compiled(self, values: dict[str, Any]) -> _Compiled:
        # A parameter stands in the shape by its type, so it is never mistaken for a None of the same name.
        shape = tuple(sorted((name, type(value) if _is_parameter(value) else value) for name, value in values.items()))
        compiled = self._shapes.get(shape)
        if compiled is None:
            compiled = self._compile(values)
            with self._lock:
                self._shapes[shape] = compiled
                while len(self._shapes) > _SHAPES_KEPT:
                    self._shapes.popitem(last=False)
        return compiled

    def _compile(self, values: dict[str, Any]) -> _Compiled:
        names = [name for name, value in values.items() if _is_parameter(value)]
        (queryset, compiler, sql, params, slots), (_, _, other_sql, other_params, other_slots) = (
            self._compile_with({**values, **_markers(values, names)}, names) for _ in range(2)
        )
        constants = [param for position, param in enumerate(params) if position not in slots]
        other_constants = [param for position, param in enumerate(other_params) if position not in other_slots]
        if sql != other_sql or slots != other_slots or constants != other_constants:
            raise ImproperlyConfigured(
                f"{self.build!r} gives a query that depends on more than its arguments, or on what a value says "
                "rather than what it is: pass the moving part as an argument."
            )
        return _Compiled(queryset, compiler, sql, tuple(params), slots)

    def _compile_with(self, values: dict[str, Any], names: list[str]):
        queryset = self.build(**values)
        compiler = queryset.query.get_compiler(using=self.using)
        sql, params = compiler.as_sql()
        markers = {values[name]: name for name in names}
        slots: dict[int, tuple[str, type]] = {}
        for position, param in enumerate(params):
            name = markers.get(param) if isinstance(param, _PARAMETER_TYPES) else None
            if name is not None and isinstance(param, type(values[name])):
                # Bound as the queryset binds it: an integer column's value as psycopg's Int4, say.
                slots[position] = (name, type(param))
            elif isinstance(param, str) and "\ue000" in param:
                raise ImproperlyConfigured(
                    f"{self.build!r}: a string argument is changed before it is bound ({param!r}), e.g. by a "
                    "contains lookup: pass the value the query binds."
                )
        if unbound := set(names) - {name for name, _ in slots.values()}:
            raise ImproperlyConfigured(
                f"{self.build!r}: {', '.join(sorted(unbound))} never reach the SQL as given (unused, changed, or out "
                "of the column's range): pass only what the query binds."
            )
        return queryset, compiler, sql, list(params), slots


def window_bounds(window: slice, what: str) -> tuple[int, int]:
    """(start, stop) of a window a list backed by a prepared query is read at, as `what`[start:stop].

    A window is part of a query's shape: an unbounded or stepped one is refused, not read whole.
    """
    if window.stop is None or window.step is not None:
        raise TypeError(f"A {what} is read a bounded window at a time, as {what}[start:stop].")
    return window.start or 0, window.stop


@contextlib.contextmanager
def planned_for_its_values(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Statements run within are never prepared, so PostgreSQL plans each for the values it is given.

    A statement run often enough is prepared (prepare_threshold), and PostgreSQL may then run it with a generic plan,
    made for any values. For the hot pages' look-ups that is the point: planned once. For a search over a customer's
    25,000 tickets the generic plan, blind to how many subjects hold the text, took twice as long: the list's count
    and window 55-60 ms instead of 25-35 for the heaviest customer at scale, as the page runs (bench/scale.py).
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield
        return
    connection.ensure_connection()
    driver = connection.connection
    kept = driver.prepare_threshold
    driver.prepare_threshold = None
    try:
        yield
    finally:
        driver.prepare_threshold = kept
