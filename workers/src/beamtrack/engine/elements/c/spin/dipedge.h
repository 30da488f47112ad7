/* Spin through a DipEdge (ImpactX 26.10's DipEdge::spin_and_phasespace_push; its 26.10 source is not public, the
 * map was identified on ImpactX 26.10 itself: per particle, the rotation taken from the images of three basis
 * spins, agreeing to ~1e-17 for protons at 250 MeV and electrons at 2 GeV, both models, entry and exit, psi and
 * rc of either sign; tests/oracle/test_spin_oracle.py). One rotation of the entry coordinates, then the
 * phase-space map:
 *   lambda = sigma [ G (gamma - 1) / rc (px cos psi - pz sin psi) e1 - (1 + G) (y / rc) n ],
 *   e1 = (cos psi, 0, -sin psi), n = (sin psi, 0, cos psi) (the pole face's normal),
 *   pz = sqrt(1 - 2 pt / beta + pt^2 - px^2 - py^2), sigma = +1 at the entry, -1 at the exit,
 * gamma, beta of the reference; g, K0..K6 and modify_ref_part do not enter (measured). */
#ifndef BEAMTRACK_SPIN_DIPEDGE_H
#define BEAMTRACK_SPIN_DIPEDGE_H
#include "beamtrack/engine/kernels/bt_spin.h"
#include "beamtrack/engine/elements/c/dipedge.h"

/* c[16] = sigma G (gamma - 1) / rc, c[17] = -sigma (1 + G) / rc, c[18] = cos psi, c[19] = sin psi
 * (c[0..15]: DipEdge_setup; p[0] = psi [rad], p[1] = rc [m], p[12] = location (0 entry, 1 exit)) */
BT_FN void DipEdge_spin_setup(bt_op* op, const double* aux)
{
    (void)aux;
    double const G = op->p[BT_P_GYRO], psi = DipEdge_psi(op), rc = DipEdge_rc(op);
    double const sigma = (DipEdge_location(op) == 0.0) ? 1.0 : -1.0;
    op->c[16] = sigma * G * (op->gamma - 1.0) / rc;
    op->c[17] = -sigma * (1.0 + G) / rc;
    op->c[18] = cos(psi);
    op->c[19] = sin(psi);
}

BT_FN void DipEdge_spin_push(const bt_op* op, const double* aux, bt_part* p, bt_spin* s)
{
    double const* c = op->c;
    double const pt = p->pt, ib = 1.0 / op->beta;
    double const pz = sqrt(1.0 - 2.0 * pt * ib + pt * pt - p->px * p->px - p->py * p->py);
    double const a = c[16] * (p->px * c[18] - pz * c[19]), b = c[17] * p->y;
    bt_rotate_spin(a * c[18] + b * c[19], 0.0, -a * c[19] + b * c[18], s);
    DipEdge_push(op, aux, p);
}
#endif
