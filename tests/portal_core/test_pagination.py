"""CountedPaginator over a WindowedList that says how it was read: one read for a page that exists."""

import pytest

from portal_core.pagination import CountedPaginator, WindowedList


class Rows(WindowedList[int]):
    """The numbers 0 to total - 1, noting each read as the database would be asked it."""

    what = "row list"
    row = int

    def __init__(self, total: int) -> None:
        super().__init__()
        self.numbers = list(range(total))
        self.reads: list[str] = []

    def count(self) -> int:
        self.reads.append("count")
        return len(self.numbers)

    def _rows(self, start: int | None, stop: int | None, counted: bool) -> list[tuple]:
        self.reads.append(f"{'counted' if counted else 'rows'} {start}:{stop}")
        return [(number, len(self.numbers)) if counted else (number,) for number in self.numbers[start:stop]]


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


def test_an_empty_list_is_known_empty_from_its_first_window():
    rows = Rows(0)
    page = CountedPaginator(rows, 10).get_page("1")
    assert (page.number, list(page), page.paginator.count, page.paginator.num_pages) == (1, [], 0, 1)
    assert rows.reads == ["counted 0:10"]


def test_a_page_past_the_end_of_a_short_list_counts_then_shows_the_last():
    rows = Rows(5)
    page = CountedPaginator(rows, 10).get_page("2")
    assert (page.number, list(page)) == (1, [0, 1, 2, 3, 4])
    # Nothing in rows 10-20 says whether the list holds any row at all: Django's way, counted first.
    assert rows.reads == ["counted 10:20", "count", "rows 0:10"]


def test_a_page_further_than_any_offset_is_not_asked_for():
    rows = Rows(25)
    page = CountedPaginator(rows, 10).get_page(str(10**30))
    assert page.number == 3
    assert list(page) == [20, 21, 22, 23, 24]
    # Django's way: counted, then the last page, read to a whole step of rows (no window compiled per remainder).
    assert rows.reads == ["count", "rows 20:30"]


def test_a_slice_is_read_whole_steps_at_a_time_and_cut():
    rows = Rows(25)
    assert rows[3:7] == [3, 4, 5, 6]
    assert rows.reads == ["rows 3:13"]


def test_rows_reads_exactly_the_window_or_everything():
    rows = Rows(25)
    assert rows.rows(slice(0, 3)) == [0, 1, 2]
    assert rows.rows(None) == list(range(25))
    assert rows.reads == ["rows 0:3", "rows None:None"]


@pytest.mark.parametrize("window", [slice(0, None), slice(0, 10, 2)])
def test_an_unbounded_or_stepped_slice_is_refused(window):
    with pytest.raises(TypeError, match="row list"):
        Rows(25)[window]
