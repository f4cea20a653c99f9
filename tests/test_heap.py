"""The collector setting for large audits raises low thresholds and leaves others alone."""

from __future__ import annotations

import gc

import pytest

from prodcheck import heap


@pytest.fixture
def threshold():
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)


def test_default_threshold_is_raised_for_bulk_data(threshold):
    gc.set_threshold(700, 10, 10)
    heap.for_bulk_data()
    assert gc.get_threshold() == heap.BULK_THRESHOLD


def test_a_higher_threshold_or_automatic_collection_off_is_left_alone(threshold):
    gc.set_threshold(1_000_000, 5, 5)
    heap.for_bulk_data()
    assert gc.get_threshold() == (1_000_000, 5, 5)
    gc.set_threshold(0, 10, 10)
    heap.for_bulk_data()
    assert gc.get_threshold()[0] == 0


def test_command_line_sets_the_collector_for_bulk_data(threshold, capsys):
    from prodcheck.cli import main

    gc.set_threshold(700, 10, 10)
    with pytest.raises(SystemExit):
        main(["--version"])
    assert gc.get_threshold() == heap.BULK_THRESHOLD
