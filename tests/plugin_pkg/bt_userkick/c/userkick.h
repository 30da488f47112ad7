/* UserKick (plugin element): thin kick px += kx, py += ky; p[0] = kx, p[1] = ky (dimensionless).
 * Same map as ImpactX's Kicker with unit="dimensionless" (src/elements/Kicker.H). */
#ifndef BT_USERKICK_USERKICK_H
#define BT_USERKICK_USERKICK_H
#include "beamtrack/engine/kernels/bt_common.h"
#include "bt_userkick/c/kick_math.h"

BT_FN void UserKick_setup(bt_op* op, const double* aux)
{
    (void)aux;
    op->c[0] = op->p[0];
    op->c[1] = op->p[1];
}

BT_FN void UserKick_push(const bt_op* op, const double* aux, bt_part* p)
{
    (void)aux;
    p->px = userkick_add(p->px, op->c[0]);
    p->py = userkick_add(p->py, op->c[1]);
}
#endif
