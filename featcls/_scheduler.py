"""Running featcls's parallel work on a Dask cluster.

featcls parallelises two things: feature extraction over chunks of images and
the (model × repeat × fold) fits of a comparison, as joblib tasks
(:func:`run_unordered`; :func:`run_ordered` streams results in task order with
few tasks ahead). Inside :func:`use_scheduler` those tasks are futures of a
``dask.distributed`` cluster instead of local processes — an existing one
(``"tcp://host:8786"``) or a ``LocalCluster`` started for the purpose
(``"local:4"``). Dask schedules the tasks, moves their inputs and
results, and reschedules the tasks of a worker that dies; featcls writes no
scheduler of its own. Workers read the images from their paths, so the paths
(and a feature cache folder) must be reachable from every worker, e.g. on shared
storage.

Results do not depend on where a task ran: every task is a pure function of its
inputs and seeds (features are bit-reproducible, models are seeded), and results
are put back in task order.
"""

from __future__ import annotations

import collections
import contextlib
import re
import sys
from collections.abc import Iterable, Iterator

__all__ = [
    "active",
    "parse_scheduler",
    "run_ordered",
    "run_unordered",
    "use_scheduler",
]

_ACTIVE: list[str] = []

#: Dask settings of the clusters featcls starts (``local:N``), so that memory does
#: not grow with the number of tasks: Dask keeps its last 1,000 messages on every
#: connection (each with its task's arguments) and every worker keeps an hour of
#: one-second profiles of its thread (tens of KB each), for the dashboard, which
#: such a cluster does not show anyway. Clusters of the user's own keep theirs.
_LOCAL_CLUSTER_CONFIG = {
    "distributed.admin.low-level-log-length": 50,
    "distributed.worker.profile.enabled": False,
}


def parse_scheduler(spec: str) -> tuple[str, str | int]:
    """``("local", n_workers)`` or ``("address", "tcp://...")`` from a spec.

    Raises
    ------
    ValueError
        For anything but ``local:N`` (N ≥ 1) or a ``tcp://``, ``tls://``,
        ``inproc://`` or ``ws://`` address.

    Examples
    --------
    >>> parse_scheduler("local:2")
    ('local', 2)
    >>> parse_scheduler("tcp://10.0.0.5:8786")
    ('address', 'tcp://10.0.0.5:8786')
    """
    text = str(spec).strip()
    match = re.fullmatch(r"local:(\d+)", text)
    if match and int(match.group(1)) >= 1:
        return "local", int(match.group(1))
    if re.fullmatch(r"(tcp|tls|inproc|ws|wss)://\S+", text):
        return "address", text
    raise ValueError(
        f"Unknown scheduler {spec!r}: give the address of a running Dask scheduler "
        "(tcp://HOST:PORT, as 'dask scheduler' prints it) or local:N to start a "
        "local cluster of N worker processes."
    )


def active() -> bool:
    """Whether featcls's parallel work currently goes to a Dask cluster."""
    return bool(_ACTIVE)


@contextlib.contextmanager
def use_scheduler(spec: str | None) -> Iterator[object | None]:
    """Send featcls's extraction and fits to a Dask cluster while the block runs.

    Parameters
    ----------
    spec : str or None
        ``"tcp://HOST:PORT"`` (an existing scheduler), ``"local:N"`` (a
        ``LocalCluster`` of N single-threaded worker processes, closed at the
        end) or None (no cluster: local processes as usual).

    Yields
    ------
    client : distributed.Client or None

    Raises
    ------
    ImportError
        If ``dask.distributed`` is not installed (``pip install featcls[dask]``).
    OSError
        If the scheduler cannot be reached.
    """
    if spec is None:
        yield None
        return
    kind, value = parse_scheduler(spec)
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - dask is in the dask extra
        raise ImportError(
            "A Dask scheduler needs dask.distributed: pip install 'featcls[dask]'."
        ) from exc
    with contextlib.ExitStack() as stack:
        if kind == "local":
            import dask

            # Set while the cluster and client are made, which read them.
            with dask.config.set(_LOCAL_CLUSTER_CONFIG):
                cluster = stack.enter_context(
                    LocalCluster(
                        n_workers=int(value),
                        threads_per_worker=1,
                        processes=True,
                        dashboard_address=":0",  # any free port, never a clash
                    )
                )
                client = stack.enter_context(Client(cluster))
        else:
            try:
                client = stack.enter_context(Client(str(value), timeout="20s"))
            except (OSError, TimeoutError) as exc:
                raise OSError(
                    f"Cannot reach the Dask scheduler at {value} ({exc}). Start it "
                    "with 'dask scheduler' and workers with 'dask worker "
                    f"{value}', or use local:N."
                ) from None
        _ACTIVE.append(str(spec))
        try:
            yield client
        finally:
            _ACTIVE.pop()


def run_unordered(tasks, n_jobs: int | None) -> Iterator:
    """Results of joblib ``delayed`` tasks as they finish, locally or on the cluster.

    On a cluster (inside :func:`use_scheduler`) each task is one Dask future
    (``Client.submit``) collected with ``as_completed``: the scheduler reruns the
    task of a worker that died on another worker. Otherwise joblib's processes.
    """
    if not _ACTIVE:
        from joblib import Parallel

        _close_abandoned()
        todo = _Stoppable(tasks)
        yield from _local(
            Parallel(n_jobs=n_jobs, return_as="generator_unordered")(todo), todo
        )
        return
    from distributed import as_completed, get_client

    client = get_client()
    tasks = _scatter_shared(client, list(tasks))
    futures = [
        client.submit(func, *args, pure=False, **kwargs) for func, args, kwargs in tasks
    ]
    for future in as_completed(futures):
        yield future.result()
        future.release()


#: The joblib generators of the local streams running now, and those of streams
#: that ended while another one ran (see :func:`_local`). Held here, they are
#: never finalised by the garbage collector with the stream that dropped them.
_LOCAL_RUNNING: list = []
_ABANDONED: list = []


class _Stoppable:
    """An iterator over ``tasks`` that can be told to end early (:meth:`stop`)."""

    def __init__(self, tasks: Iterable):
        self._tasks = iter(tasks)
        self._stopped = False

    def __iter__(self):
        return self

    def __next__(self):
        if self._stopped:
            raise StopIteration
        return next(self._tasks)

    def stop(self) -> None:
        self._stopped = True


def _local(results, todo: _Stoppable) -> Iterator:
    """The results of a joblib generator over ``todo``; stopped cleanly if cut short.

    A joblib generator closed before its end stops its tasks by shutting down
    joblib's process pool, which every ``Parallel`` call shares and whose
    manager thread can die in that shutdown (a race in loky), leaving the next
    call waiting forever. So a stream that ends early only stops handing out
    tasks and takes the results of those already running (at most its window
    of tasks ahead), and the pool stays as it was. A stream dropped while
    another runs (found by the garbage collector during a later call) is set
    aside and finished before the next call starts.
    """
    _LOCAL_RUNNING.append(results)
    try:
        # Not ``yield from``, which would close ``results`` on GeneratorExit.
        for result in results:  # noqa: UP028
            yield result
    finally:
        todo.stop()
        _LOCAL_RUNNING.remove(results)
        if sys.is_finalizing():
            pass  # at exit: nothing left to finish
        elif _LOCAL_RUNNING:
            _ABANDONED.append(results)
        else:
            _finish(results)


def _close_abandoned() -> None:
    """Finish the streams set aside by :func:`_local`, before a new call starts."""
    while _ABANDONED and not _LOCAL_RUNNING:
        _finish(_ABANDONED.pop())


def _finish(results) -> None:
    """Take (and drop) what is left of a joblib generator whose tasks stopped."""
    with contextlib.suppress(Exception):  # a task's error: its stream has ended
        for _ in results:
            pass


def _scatter_shared(client, tasks: list) -> list:
    """``tasks`` with each array or frame that several of them take scattered once.

    Otherwise every task would carry its own serialised copy (a comparison's
    feature matrix, once per model and fold). The data goes to every worker
    (``broadcast``): each needs it anyway, and a worker that dies takes no
    scattered data with it that another does not hold.
    """
    counts = collections.Counter(
        id(a) for _, args, _ in tasks for a in args if _shareable(a)
    )
    futures: dict[int, object] = {}
    out = []
    for func, args, kwargs in tasks:
        new = []
        for a in args:
            if _shareable(a) and counts[id(a)] > 1:
                if id(a) not in futures:
                    futures[id(a)] = client.scatter(a, broadcast=True, hash=False)
                a = futures[id(a)]
            new.append(a)
        out.append((func, tuple(new), kwargs))
    return out


def _shareable(value) -> bool:
    import numpy as np
    import pandas as pd

    return isinstance(value, (np.ndarray, pd.DataFrame))


def run_ordered(tasks: Iterable, n_jobs: int | None, window: int | None = None):
    """Results of joblib ``delayed`` tasks in task order, a few tasks ahead at most.

    ``tasks`` may be a lazy iterable: it is read only as far as ``window`` tasks
    ahead of the results taken, so that a long stream of tasks is never held at
    once. Locally, joblib's processes with ``pre_dispatch=window`` (default
    ``2 * n_jobs``): at most ``window`` tasks are running or waiting for a worker,
    and a result is handed over in order as soon as the results before it are
    (those that finish early wait, which takes memory only while an earlier task
    is slower). On a cluster, at most ``window`` futures (default twice the
    cluster's threads) are submitted and not yet taken. Closing the generator
    early hands out no more tasks: locally those already running finish (the
    process pool, shared by every call, is never shut down under another);
    on a cluster what has not run is cancelled.
    """
    if not _ACTIVE:
        from joblib import Parallel

        _close_abandoned()
        todo = _Stoppable(tasks)
        yield from _local(
            Parallel(
                n_jobs=n_jobs,
                return_as="generator",
                pre_dispatch=window or "2*n_jobs",
                batch_size=1,
            )(todo),
            todo,
        )
        return
    from distributed import get_client

    client = get_client()
    if window is None:
        window = max(2, 2 * sum(client.nthreads().values()))
    pending: collections.deque = collections.deque()
    todo = iter(tasks)
    try:
        for func, args, kwargs in todo:
            pending.append(client.submit(func, *args, pure=False, **kwargs))
            if len(pending) >= window:
                yield _take(pending.popleft())
        while pending:
            yield _take(pending.popleft())
    finally:
        for future in pending:
            future.cancel()


def _take(future):
    """The result of a future, then let the cluster forget it."""
    result = future.result()
    future.release()
    return result
