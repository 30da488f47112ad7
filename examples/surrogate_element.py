"""A surrogate model as a lattice element: a small PyTorch network (CPU) replaces a thin sextupole.

The network is trained on kicks of the analytic thin-sextupole map (ImpactX's Multipole, order 3:
dpx = -K/2 (x^2 - y^2), dpy = K x y), then used in a Programmable element that updates the live
particle arrays in place through DLPack: no copies between beamtrack and PyTorch.

Run: python examples/surrogate_element.py
"""

from __future__ import annotations

import numpy as np
import torch

from beamtrack.engine import Simulation, distribution, elements

K2 = 50.0  # integrated sextupole strength [1/m^2]
SCALE = 1e-3  # typical transverse size [m]: inputs and outputs are scaled to O(1) for training


def analytic_kick(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return -0.5 * K2 * (x * x - y * y), K2 * x * y


def train_surrogate(steps: int = 400, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    torch.set_num_threads(1)  # a tiny model: threads cost more than they give
    rng = np.random.default_rng(seed)
    xy = rng.uniform(-4, 4, size=(2048, 2))  # in units of SCALE
    dpx, dpy = analytic_kick(xy[:, 0] * SCALE, xy[:, 1] * SCALE)
    target = np.stack([dpx, dpy], axis=1) / (K2 * SCALE**2)
    X, Y = torch.tensor(xy, dtype=torch.float64), torch.tensor(target, dtype=torch.float64)
    net = torch.nn.Sequential(torch.nn.Linear(2, 32), torch.nn.Tanh(), torch.nn.Linear(32, 32), torch.nn.Tanh(),
                              torch.nn.Linear(32, 2)).double()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.mean((net(X) - Y) ** 2)
        loss.backward()
        opt.step()
    net.eval()
    return net


class SurrogateKick(elements.Programmable):
    """A thin element whose kick is a neural network applied in place to the beam's arrays."""

    def __init__(self, net: torch.nn.Module, name: str = "surrogate_sextupole"):
        super().__init__(name=name, ds=0.0, nslice=1)
        self.net = net
        self.beam_particles = self._kick

    @torch.no_grad()
    def _kick(self, arrays: dict, refpart) -> None:
        alive = torch.from_dlpack(arrays["state"]) == 0
        x = torch.from_dlpack(arrays["position_x"])  # zero-copy views of the live beam
        y = torch.from_dlpack(arrays["position_y"])
        px = torch.from_dlpack(arrays["momentum_x"])
        py = torch.from_dlpack(arrays["momentum_y"])
        out = self.net(torch.stack([x, y], dim=1) / SCALE) * (K2 * SCALE**2)
        px += torch.where(alive, out[:, 0], 0.0)
        py += torch.where(alive, out[:, 1], 0.0)


def build(element: elements.Element, npart: int = 20_000) -> Simulation:
    sim = Simulation(diagnostics=False)
    sim.reference.set_species("proton").set_kin_energy_MeV(250)
    sim.add_particles(1e-9, distribution.Gaussian(lambdaX=1e-3, lambdaY=1e-3, lambdaT=1e-3, lambdaPx=1e-4,
                                                  lambdaPy=1e-4, lambdaPt=1e-4, cutX=3, cutY=3, cutT=3),
                      npart=npart, seed=2)
    sim.lattice.extend([elements.Drift(name="d1", ds=1.0), element, elements.Drift(name="d2", ds=1.0)])
    return sim


def main() -> float:
    net = train_surrogate()
    with_net = build(SurrogateKick(net))
    px0 = with_net.beam.real[3].copy()
    with_net.track_particles()
    exact = build(elements.Programmable(name="exact", ds=0.0))
    exact.lattice[1].beam_particles = lambda a, r: (
        a["momentum_x"].__iadd__(analytic_kick(a["position_x"], a["position_y"])[0]),
        a["momentum_y"].__iadd__(analytic_kick(a["position_x"], a["position_y"])[1]))
    exact.track_particles()
    kick_rms = float(np.sqrt(np.mean((exact.beam.real[3] - px0) ** 2)))
    err = float(np.sqrt(np.mean((with_net.beam.real[3] - exact.beam.real[3]) ** 2)) / kick_rms)
    print(f"surrogate vs analytic sextupole: rms kick error / rms kick = {err:.2e}")
    return err


if __name__ == "__main__":
    main()
