"""Run a command as N ranks on this machine, with the ``mpiexec`` of gradlab's own environment.

``pip install "gradlab[dist]"`` installs Open MPI's wheel, whose ``mpiexec`` sits next to this environment's
``python``: it is taken before any other on the PATH, so that the ranks run the MPI library that mpi4py was loaded
with. ``gradlab train --nproc N`` and the tests start their ranks through ``mpiexec_command``.
"""

from __future__ import annotations

import os
import shutil
import sysconfig
from pathlib import Path
from typing import Sequence

from autograd import distributed
from autograd.kernels.parallel import CORES

from .arguments import CommandError

# What each rank's BLAS (and OpenMP) may use: a share of the cores, so that N ranks do not run N * cores threads.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def find_mpiexec() -> str:
    """The ``mpiexec`` of this environment, else the first on the PATH.

    Raises:
        CommandError: none is installed, or mpi4py is not; the message says what to install.
    """
    own = Path(sysconfig.get_path("scripts")) / "mpiexec"
    found = str(own) if own.is_file() else shutil.which("mpiexec")
    if found is None or not distributed.is_available():
        missing = "mpi4py" if found else "MPI's mpiexec"
        raise CommandError(f"training on several processes needs mpi4py and MPI's mpiexec, and {missing} is not "
                           f"installed: {distributed.INSTALL}")
    return found


def mpiexec_command(nproc: int, command: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that run ``command`` as ``nproc`` ranks on this machine.

    Each rank's BLAS threads are limited to ``cores // nproc`` (at least 1) unless the environment already sets
    them. More ranks than cores are allowed (``--oversubscribe``): slow, but a way to try out a larger job.

    Raises:
        CommandError: no mpiexec or no mpi4py (see ``find_mpiexec``).
    """
    environment = dict(os.environ)
    if os.geteuid() == 0:
        # Open MPI refuses to start as root unless told so twice; containers and CI run as root.
        environment.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
        environment.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    for name in THREAD_VARIABLES:
        environment.setdefault(name, str(max(1, CORES // nproc)))
    line = [find_mpiexec(), "-n", str(nproc)]
    if nproc > CORES:
        line.append("--oversubscribe")
    return line + list(command), environment
