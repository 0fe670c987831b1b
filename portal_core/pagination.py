"""A Paginator that reads the page asked for and the list's count in one query.

Django's Paginator counts first (to know the last page), then reads the page: two queries, on every list page. A
list that can also answer `counted(window)` (the rows in the window, each knowing how many the whole list holds,
e.g. by `COUNT(*) OVER ()`) is read once: the count comes with the page's rows and the page is then served from
what was read; an empty list is known empty from its first window. A page past the end, or a number that isn't
one, reads nothing that way and goes Django's way.

`WindowedList` is what the portal's lists (bookings, conversations) build on: a list says how it reads a window
and a count, and is read as a CountedPaginator reads it.
"""

from typing import Protocol

from django.core.paginator import Page, Paginator

from portal_core.prepared import window_bounds

# Beyond any list's length: a page number past it (?page=10**30) goes Django's way, which counts first and serves
# the last page, rather than asking the database for an offset it can't hold.
_FURTHEST_ROW = 2**31


class CountedList(Protocol):
    def count(self) -> int: ...

    def counted(self, window: slice) -> int | None:
        """Read `window` (kept for the next slice asking for it) and say how many rows the whole list holds;
        None when the window, past the list's first row, holds no row (the list may end before it)."""
        ...

    def __getitem__(self, window: slice) -> list: ...


class CountedPaginator(Paginator):
    def __init__(self, object_list: CountedList, per_page: int) -> None:
        super().__init__(object_list, per_page)  # type: ignore[arg-type]
        self._counted = object_list

    def get_page(self, number) -> Page:
        try:
            wanted = int(number) if number is not None else 1
        except (TypeError, ValueError):
            wanted = 1
        bottom = (wanted - 1) * self.per_page
        if 0 <= bottom < _FURTHEST_ROW and "count" not in self.__dict__:
            count = self._counted.counted(slice(bottom, bottom + self.per_page + self.orphans))
            if count is not None:
                self.__dict__["count"] = count  # what Paginator.count (a cached property) would have asked
        return super().get_page(number)


class WindowedList[Row]:
    """A list read a window at a time, as a CountedPaginator reads it: `count()`, `counted(window)` and slices.

    A subclass says how to read: `count()`, and `_rows(start, stop, counted)`, the rows of a window as tuples, each
    ending with how many rows the whole list holds when `counted`; `row` makes a tuple what a page shows. The window
    `counted()` read serves the slice that asks for it next; any other slice is read to the next multiple of
    WINDOW_STEP rows, then cut, so a Paginator's last page, which asks for exactly the rows left, compiles no window
    of its own for each remainder.
    """

    WINDOW_STEP = 10
    # Names the list in the error a wrong slice raises.
    what = "list"
    # What a page shows of a row, made from the values `_rows` read: a class (a dataclass, as a rule).
    row: type[Row]

    def __init__(self) -> None:
        # The window counted() read: where it starts, its rows, whether it reaches the end of the list.
        self._read: tuple[int, list[Row], bool] | None = None

    def _rows(self, start: int | None, stop: int | None, counted: bool) -> list[tuple]:
        raise NotImplementedError

    def count(self) -> int:
        """How many rows the whole list holds, in a query of its own."""
        raise NotImplementedError

    def counted(self, window: slice) -> int | None:
        start, stop = window_bounds(window, self.what)
        read = self._rows(start, stop, True)
        if not read:
            # From the first row on, nothing: the list is empty. Further on, how far it reaches is not known.
            return 0 if start == 0 else None
        listed: int = read[0][-1]
        rows = [self.row(*values[:-1]) for values in read]
        self._read = (start, rows, start + len(rows) == listed)
        return listed

    def __getitem__(self, window: slice) -> list[Row]:
        start, stop = window_bounds(window, self.what)
        if stop <= start:  # a Paginator asks for [0:0] when nothing matches
            return []
        if self._read is not None:
            read_from, rows, to_the_end = self._read
            if read_from == start and (stop - start <= len(rows) or to_the_end):
                return rows[: stop - start]
        read = -(-(stop - start) // self.WINDOW_STEP) * self.WINDOW_STEP
        return self.rows(slice(start, start + read))[: stop - start]

    def rows(self, window: slice | None) -> list[Row]:
        """The rows in `window` (all of them for None), read exactly."""
        start, stop = (None, None) if window is None else (window.start, window.stop)
        return [self.row(*values) for values in self._rows(start, stop, False)]
