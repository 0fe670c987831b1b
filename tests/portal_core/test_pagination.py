"""CountedPaginator against a list that says how it was read: one read for a page that exists."""

import pytest

from portal_core.pagination import CountedPaginator


class Rows:
    def __init__(self, total: int) -> None:
        self.rows = list(range(total))
        self.reads: list[str] = []
        self._read: tuple[int, list] | None = None

    def count(self) -> int:
        self.reads.append("count")
        return len(self.rows)

    def counted(self, window: slice) -> int | None:
        self.reads.append(f"counted {window.start}:{window.stop}")
        rows = self.rows[window]
        if not rows:
            return None
        self._read = (window.start, rows)
        return len(self.rows)

    def __getitem__(self, window: slice) -> list:
        if window.stop <= window.start:  # as the portal's lists: nothing to read
            return []
        if self._read is not None and self._read[0] == window.start:
            return self._read[1][: window.stop - window.start]
        self.reads.append(f"slice {window.start}:{window.stop}")
        return self.rows[window]


def test_a_page_that_exists_is_read_once_with_the_count():
    rows = Rows(25)
    page = CountedPaginator(rows, 10).get_page("2")
    assert list(page) == list(range(10, 20))
    assert (page.paginator.count, page.paginator.num_pages) == (25, 3)
    assert rows.reads == ["counted 10:20"]


def test_the_last_page_is_what_the_window_held():
    rows = Rows(25)
    page = CountedPaginator(rows, 10).get_page(3)
    assert list(page) == [20, 21, 22, 23, 24]
    assert rows.reads == ["counted 20:30"]


@pytest.mark.parametrize(("asked", "number"), [("9", 3), ("0", 3), ("x", 1), (None, 1)])
def test_a_page_past_the_end_or_not_a_number_is_djangos(asked, number):
    rows = Rows(25)
    page = CountedPaginator(rows, 10).get_page(asked)
    assert page.number == number
    assert list(page) == list(range((number - 1) * 10, min(number * 10, 25)))


def test_an_empty_list_has_its_one_empty_page():
    rows = Rows(0)
    page = CountedPaginator(rows, 10).get_page("1")
    assert (page.number, list(page), page.paginator.count) == (1, [], 0)
    assert rows.reads == ["counted 0:10", "count"]


def test_a_page_further_than_any_offset_is_not_asked_for():
    rows = Rows(25)
    page = CountedPaginator(rows, 10).get_page(str(10**30))
    assert page.number == 3
    assert rows.reads[0] == "count"  # Django's way: counted, then the last page
