"""The hostile corpus (tests/corpus.py): every command line ends as it must, within its timeout."""
import pytest

from tests.corpus import all_cases, cleanup, run_case

CASES = all_cases()


def test_the_corpus_covers_every_kind_with_at_least_400_command_lines():
    kinds = {c.kind for c in CASES}
    assert len(CASES) >= 400
    assert kinds == {"expression", "number", "option", "config", "output", "signal", "locale", "pipe"}
    assert sum(c.expect == "refused" for c in CASES) >= 300


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_command_line(case, tmp_path):
    try:
        outcome, detail = run_case(case, tmp_path)
    finally:
        cleanup(tmp_path)
    if outcome == "skipped":
        pytest.skip(detail)
    assert outcome != "failure", detail
