/* Spin through a Quad slice (ImpactX's Quad::spin_and_phasespace_push): one rotation by
 * lambda = (a_py py + a_y y, a_px px + a_x x, 0) of the entry coordinates, then the phase-space map.
 * With g = 1 + G gamma and w = sqrt(|k|): k > 0: a_py = -g (cosh wL - 1), a_y = -g w sinh wL,
 * a_px = -g (1 - cos wL), a_x = -g w sin wL; k < 0: the same with the planes' functions swapped and
 * the sign flipped; k = 0: no rotation. Source: ImpactX src/elements/Quad.H (compute_constants). */
#ifndef BEAMTRACK_SPIN_QUAD_H
#define BEAMTRACK_SPIN_QUAD_H
#include "beamtrack/engine/kernels/bt_spin.h"
#include "beamtrack/engine/elements/c/quad.h"

/* c[9..12] = a_py, a_y, a_px, a_x (c[0..8]: Quad_setup) */
BT_FN void Quad_spin_setup(bt_op* op, const double* aux)
{
    (void)aux;
    double const k = Quad_k(op), L = op->ds, w = sqrt(fabs(k));
    double const g = 1.0 + op->p[BT_P_GYRO] * op->gamma;
    /* 1 - cos, cosh - 1 from the map's cos and cosh (Quad_setup's), as ImpactX: the generator of the reversed
     * slice then cancels the forward one to round-off of the map (a half-angle 2 sinh^2(wL/2) differs from
     * cosh wL - 1 by an ulp of cosh, which the reversed generator's cancellation multiplies by w sinh wL) */
    double const omc = 1.0 - cos(w * L), chm1 = cosh(w * L) - 1.0;
    double a[4] = {0.0, 0.0, 0.0, 0.0};
    if (k > 0.0) {
        a[0] = -g * chm1; a[1] = -g * w * sinh(w * L); a[2] = -g * omc; a[3] = -g * w * sin(w * L);
    } else if (k < 0.0) {
        a[0] = g * omc; a[1] = g * w * sin(w * L); a[2] = g * chm1; a[3] = g * w * sinh(w * L);
    }
    for (int i = 0; i < 4; ++i) op->c[9 + i] = a[i];
}

BT_FN void Quad_spin_push(const bt_op* op, const double* aux, bt_part* p, bt_spin* s)
{
    double const* c = op->c;
    bt_rotate_spin(c[9] * p->py + c[10] * p->y, c[11] * p->px + c[12] * p->x, 0.0, s);
    Quad_push(op, aux, p);
}
#endif
