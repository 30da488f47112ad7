/* Kicker (thin transverse kick; ImpactX's Kicker): px += xkick, py += ykick, with the kicks given
 * dimensionless or in T m (then divided by the reference rigidity in Python before the pass).
 * Source: ImpactX src/elements/Kicker.H. Kicker_xkick(op) = dpx, Kicker_ykick(op) = dpy (dimensionless). */
#ifndef BEAMTRACK_KICKER_H
#define BEAMTRACK_KICKER_H
#include "beamtrack/engine/kernels/bt_common.h"

BT_FN void Kicker_setup(bt_op* op, const double* aux)
{
    (void)op;
    (void)aux;
}

BT_FN void Kicker_push(const bt_op* op, const double* aux, bt_part* p)
{
    (void)aux;
    p->px += Kicker_xkick(op);
    p->py += Kicker_ykick(op);
}
#endif
