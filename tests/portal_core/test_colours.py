import pytest

from portal_core.colours import contrast_ratio, mix, ratio_label, readable_on, relative_luminance, text_contrast_problem


@pytest.mark.parametrize(
    ("first", "second", "ratio"),
    [
        ("#000000", "#ffffff", 21.0),
        ("#ffffff", "#000000", 21.0),
        ("#777777", "#ffffff", 4.48),
        ("#1d4ed8", "#ffffff", 6.70),
        ("#ffd700", "#ffffff", 1.40),
        ("#abcdef", "#ABCDEF", 1.0),
    ],
)
def test_contrast_ratios_are_those_wcag_gives(first, second, ratio):
    assert contrast_ratio(first, second) == pytest.approx(ratio, abs=0.005)


def test_luminance_runs_from_black_to_white():
    assert relative_luminance("#000000") == 0
    assert relative_luminance("#ffffff") == pytest.approx(1)


def test_a_ratio_just_short_of_the_rule_never_reads_as_meeting_it():
    assert ratio_label(contrast_ratio("#777777", "#ffffff")) == "4.4:1"
    assert ratio_label(4.5) == "4.5:1"
    assert ratio_label(21) == "21.0:1"


def test_gold_on_white_is_refused_naming_the_ratio_and_what_to_do():
    assert text_contrast_problem("#ffd700", "#ffffff") == (
        "#ffd700 and #ffffff contrast 1.4:1; text on buttons needs 4.5:1 — darken the accent or use dark text."
    )


def test_dark_text_on_a_dark_accent_is_told_to_lighten_the_accent():
    assert text_contrast_problem("#1d4ed8", "#000000").endswith("lighten the accent or use white text.")


@pytest.mark.parametrize(
    ("background", "text"), [("#1d4ed8", "#ffffff"), ("#ffd700", "#1f2328"), ("#767676", "#ffffff")]
)
def test_pairs_at_or_over_four_and_a_half_pass(background, text):
    assert text_contrast_problem(background, text) is None


def test_a_colour_too_light_to_read_is_darkened_until_it_reads():
    shade = readable_on("#f4f5f7", "#ffd700")
    assert contrast_ratio(shade, "#f4f5f7") >= 4.5
    assert readable_on("#f4f5f7", "#1d4ed8") == "#1d4ed8"  # already readable: kept as it is


def test_mixing_blends_each_channel():
    assert mix("#ffffff", "#000000", 0.5) == "#808080"
    assert mix("#1d4ed8", "#000000", 0) == "#1d4ed8"


def test_a_malformed_colour_is_refused():
    with pytest.raises(ValueError):
        relative_luminance("gold")
