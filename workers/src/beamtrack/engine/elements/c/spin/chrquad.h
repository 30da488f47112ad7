/* Spin through a ChrQuad slice (ImpactX's ChrQuad::spin_and_phasespace_push): the Quad rotation with
 * the particle's own energy: D = sqrt(1 - 2 pt/beta + pt^2), gamma_p = gamma (1 - beta pt),
 * g = 1 + G gamma_p, w = sqrt(|k| / D); k > 0:
 *   lambda = -g (py/D (cosh wL - 1) + y w sinh wL, px/D (1 - cos wL) + x w sin wL, 0),
 * k < 0: +g with the planes' functions swapped; then the phase-space map.
 * Source: ImpactX src/elements/ChrQuad.H. */
#ifndef BEAMTRACK_SPIN_CHRQUAD_H
#define BEAMTRACK_SPIN_CHRQUAD_H
#include "beamtrack/engine/kernels/bt_spin.h"
#include "beamtrack/engine/elements/c/chrquad.h"

BT_FN void ChrQuad_spin_setup(bt_op* op, const double* aux)
{
    (void)op;
    (void)aux;
}

BT_FN void ChrQuad_spin_push(const bt_op* op, const double* aux, bt_part* p, bt_spin* s)
{
    double const g = op->c[3], beta = op->c[2], L = op->ds, pt = p->pt;
    double const iD = 1.0 / sqrt(1.0 - 2.0 * pt / beta + pt * pt);
    double const gp = 1.0 + op->p[BT_P_GYRO] * op->gamma * (1.0 - beta * pt);
    double const w = sqrt(fabs(g) * iD), wl = w * L;
    double const omc = 1.0 - cos(wl), chm1 = cosh(wl) - 1.0; /* as ImpactX (see spin/quad.h) */
    double const foc = (g > 0.0) ? 1.0 : 0.0, dfc = 1.0 - foc;
    double const fac_x = foc * omc + dfc * chm1, fac_y = foc * chm1 + dfc * omc;
    double const sin_x = foc * sin(wl) + dfc * sinh(wl), sin_y = foc * sinh(wl) + dfc * sin(wl);
    double const sgn = (g > 0.0) ? -gp : gp;
    bt_rotate_spin(sgn * (p->py * iD * fac_y + p->y * w * sin_y), sgn * (p->px * iD * fac_x + p->x * w * sin_x), 0.0, s);
    ChrQuad_push(op, aux, p);
}
#endif
