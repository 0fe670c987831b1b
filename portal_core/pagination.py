"""A Paginator that reads the page asked for and the list's count in one query.

Django's Paginator counts first (to know the last page), then reads the page: two queries, on every list page. A
list that can also answer `counted(window)` (the rows in the window, each knowing how many the whole list holds,
e.g. by `COUNT(*) OVER ()`) is read once: the count comes with the page's rows and the page is then served from
what was read. A page past the end, or a number that isn't one, reads nothing that way and goes Django's way.
"""

from typing import Protocol

from django.core.paginator import Page, Paginator

# Beyond any list's length: a page number past it (?page=10**30) goes Django's way, which counts first and serves
# the last page, rather than asking the database for an offset it can't hold.
_FURTHEST_ROW = 2**31


class CountedList(Protocol):
    def count(self) -> int: ...

    def counted(self, window: slice) -> int | None:
        """Read `window` (kept for the next slice asking for it) and say how many rows the whole list holds;
        None when the window holds no row."""
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
