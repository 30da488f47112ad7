/* TaperedPL: thin nonlinear plasma lens with a horizontal taper (ImpactX's TaperedPL).
 * B_x = g (y + x y / D_x), B_y = -g (x + (x^2 + y^2) / (2 D_x)) integrated over the lens:
 * dpx = -g (x + taper (x^2 + y^2) / 2), dpy = -g (y + taper x y), taper = 1 / D_x [1/m].
 * Formulas: ImpactX src/elements/TaperedPL.H (26.10).
 * TaperedPL_g(op) [1/m] (k for unit 0, k / rigidity for unit 1; converted in Python), TaperedPL_taper(op) [1/m].
 */
#ifndef BEAMTRACK_TAPEREDPL_H
#define BEAMTRACK_TAPEREDPL_H
#include "beamtrack/engine/kernels/bt_common.h"

BT_FN void TaperedPL_setup(bt_op* op, const double* aux)
{
    (void)op;
    (void)aux;
}

BT_FN void TaperedPL_push(const bt_op* op, const double* aux, bt_part* p)
{
    (void)aux;
    double const g = TaperedPL_g(op), a = TaperedPL_taper(op);
    double const x = p->x, y = p->y;
    p->px = p->px - g * (x + a * 0.5 * (x * x + y * y));
    p->py = p->py - g * (y + a * x * y);
}
#endif
