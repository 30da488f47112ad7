"""Space charge (ImpactX's 3D, 2D and 2.5D models): charge deposition and field gather as C kernels
(serial, OpenMP, CUDA), open-boundary Poisson solve by FFT with the integrated Green's function, or ImpactX's multigrid boundary
problem (grounded walls at the padded domain) by sine transforms.

    solver = SpaceChargeSolver(mode="3D", n_cell=[64, 64, 64], particle_shape=2, prob_relative=1.1)
    solver.kick(beam, ref, slice_ds)

The tracking loop builds one with ``SpaceChargeSolver.from_simulation(sim)`` and kicks before each
slice of a thick element.
"""

from .poisson import DirichletPoissonSolver, GreenCache, OpenPoissonSolver, fast_even_len
from .solver import MODES, POISSON_SOLVERS, SpaceChargeError, SpaceChargeSolver, make_backend

__all__ = [
    "MODES",
    "POISSON_SOLVERS",
    "DirichletPoissonSolver",
    "GreenCache",
    "OpenPoissonSolver",
    "SpaceChargeError",
    "SpaceChargeSolver",
    "fast_even_len",
    "make_backend",
]
