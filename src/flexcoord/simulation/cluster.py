"""The Dask clusters flexcoord runs on: an existing one by its address, or a local one.

:func:`dask_client` is the one way the sweeps (``flexcoord sweep --workers/--scheduler``) and
the coordination runs (``flexcoord coordinate --workers/--scheduler``: the DSO markets of a
stage solved in parallel) get a ``dask.distributed.Client``. A local cluster has one process
per worker and one thread each, its workers spawned with
:data:`~flexcoord.simulation.study_run.WORKER_ENVIRON` (power-grid-model sequential, the malloc
settings); its HTTP server takes a free port (a second cluster on the machine is no warning).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

from flexcoord.errors import InvalidInputError, Issue
from flexcoord.simulation.study_run import WORKER_ENVIRON

__all__ = ["CONNECT_TIMEOUT_S", "dask_client"]

#: How long a client waits for an existing scheduler before the address is an input error.
CONNECT_TIMEOUT_S: Final = 10


@contextmanager
def dask_client(workers: int, scheduler: str | None = None) -> Iterator[Any]:
    """A Dask client: of ``scheduler``'s cluster (``tcp://host:8786``), or of a new local one
    of ``workers`` processes, closed (the local cluster shut down) on exit.

    Raises:
        InvalidInputError: ``scheduler`` cannot be reached (named as the ``--scheduler`` option).
    """
    import dask  # noqa: PLC0415 - optional: only a parallel run needs it
    from dask.distributed import Client, LocalCluster  # noqa: PLC0415

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError, ValueError) as exc:
            raise InvalidInputError(
                [
                    Issue(
                        kind="option",
                        object_id="--scheduler",
                        field="value",
                        value=scheduler,
                        message=f"cannot be reached: {exc}",
                    )
                ]
            ) from None
        with client:
            yield client
        return
    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ")) | WORKER_ENVIRON
    with (
        dask.config.set({"distributed.nanny.pre-spawn-environ": environ}),
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,  # type: ignore[no-untyped-call]
    ):
        yield client
