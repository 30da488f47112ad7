"""Run an ImpactX script with another sample of its beam: ImpactX has no seed option (AMReX's generator
starts from a fixed seed), so each ``add_particles`` first draws and discards K times as many particles.

    .venv-impactx/bin/python bench/impactx_resampled.py K SCRIPT [ARGS...]

K = 0 runs the script unchanged. The discarded draws consume the one CPU generator stream (one thread), so
sample K is a disjoint stretch of it: independent samples of the same distribution, drawn by ImpactX itself.
"""

import runpy
import sys

import impactx

#: the reference particle's phase-space state, restored after clearing the discarded draw
REF_STATE = ("s", "sedge", "x", "y", "z", "t", "px", "py", "pz", "pt")


def main() -> None:
    k = int(sys.argv[1])
    script = sys.argv[2]
    draw = impactx.ImpactX.add_particles

    def add_particles(self, bunch_charge, distr, npart, *args, **kwargs):
        if k > 0:
            draw(self, bunch_charge, distr, k * npart, *args, **kwargs)
            ref = self.beam.ref
            saved = {a: getattr(ref, a) for a in REF_STATE}
            self.beam.clear(keep_mass=True, keep_charge=True)  # ImpactX's clear also resets the reference
            for a, v in saved.items():
                setattr(self.beam.ref, a, v)
        return draw(self, bunch_charge, distr, npart, *args, **kwargs)

    impactx.ImpactX.add_particles = add_particles
    sys.argv = [script, *sys.argv[3:]]
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
