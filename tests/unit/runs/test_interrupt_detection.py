"""A run stopped by a signal is told from a failed one by its failure events' structure (error class, error source),
never by the words of a message."""

from __future__ import annotations

import dagster as dg
import pytest
from dagster._core.errors import DagsterExecutionInterruptedError

from trust_assets.runs.execute import was_interrupted


def _run(instance: dg.DagsterInstance, error: BaseException) -> str:
    @dg.op
    def step() -> None:
        raise error

    @dg.job
    def job() -> None:
        step()

    result = job.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    return result.run_id


@pytest.fixture
def instance():
    with dg.DagsterInstance.ephemeral() as instance:
        yield instance


@pytest.mark.parametrize("error", [DagsterExecutionInterruptedError("stopped"), KeyboardInterrupt()],
                         ids=["dagster-interrupt", "keyboard-interrupt"])
def test_a_step_stopped_by_a_signal_is_an_interruption(instance, error):
    assert was_interrupted(instance, _run(instance, error))


def test_an_error_raised_from_an_interrupt_is_an_interruption(instance):
    def wrapped() -> None:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise RuntimeError("dbt build ended") from exc

    class Wrapper(Exception):
        pass

    try:
        wrapped()
    except RuntimeError as exc:
        error = Wrapper("the dbt step failed")
        error.__cause__ = exc
    assert was_interrupted(instance, _run(instance, error))


def test_a_failure_whose_message_names_the_interrupt_class_is_still_a_failure(instance):
    run_id = _run(instance, ValueError("dbt said: DagsterExecutionInterruptedError (quoted in a log line)"))
    assert not was_interrupted(instance, run_id)
