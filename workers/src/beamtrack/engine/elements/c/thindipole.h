/* ThinDipole: thin dipole kick with chromatic effects (ImpactX's ThinDipole; G. Ripken, F. Schmidt,
 * CERN/SL/95-12 (AP), Sec. 3.1, eqs. 3.2b, 3.2e; MAD-X's thin dipole).
 * ThinDipole_theta_rad(op) = theta [rad], ThinDipole_rc(op) [m]; equivalent length l = theta rc, curvature kx = 1/rc:
 *   px += -kx^2 l x + kx l f(pt),   t += kx l x f'(pt),
 * f = D - 1 = (pt^2 - 2 pt/beta) / (D + 1) (no cancellation), f' = (1 - beta pt) / (beta D),
 * D = sqrt(1 - 2 pt/beta + pt^2). Source: ImpactX src/elements/ThinDipole.H.
 */
#ifndef BEAMTRACK_THINDIPOLE_H
#define BEAMTRACK_THINDIPOLE_H
#include "beamtrack/engine/kernels/bt_common.h"

/* c[0] = kx^2 l, c[1] = kx l, c[2] = 1/beta, c[3] = beta */
BT_FN void ThinDipole_setup(bt_op* op, const double* aux)
{
    (void)aux;
    double const theta = ThinDipole_theta_rad(op), rc = ThinDipole_rc(op);
    double const kx = 1.0 / rc, l = theta * rc;
    op->c[0] = kx * kx * l;
    op->c[1] = kx * l;
    op->c[2] = 1.0 / op->beta;
    op->c[3] = op->beta;
}

BT_FN void ThinDipole_push(const bt_op* op, const double* aux, bt_part* p)
{
    (void)aux;
    double const pt = p->pt, ib = op->c[2];
    double const D = sqrt(1.0 - 2.0 * pt * ib + pt * pt);
    double const f = pt * (pt - 2.0 * ib) / (D + 1.0);
    double const fp = (1.0 - op->c[3] * pt) * ib / D;
    p->px += -op->c[0] * p->x + op->c[1] * f;
    p->t += op->c[1] * p->x * fp;
}
#endif
