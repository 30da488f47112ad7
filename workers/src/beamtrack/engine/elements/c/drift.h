/* Drift (linear, ImpactX's Drift): x += ds px, y += ds py, t += ds / (beta gamma)^2 pt.
 * Source: ImpactX src/elements/Drift.H. */
#ifndef BEAMTRACK_DRIFT_H
#define BEAMTRACK_DRIFT_H
#include "beamtrack/engine/kernels/bt_common.h"

BT_FN void Drift_setup(bt_op* op, const double* aux)
{
    (void)aux;
    op->c[0] = op->ds / (op->beta_gamma * op->beta_gamma);
}

BT_FN void Drift_push(const bt_op* op, const double* aux, bt_part* p)
{
    (void)aux;
    p->x += op->ds * p->px;
    p->y += op->ds * p->py;
    p->t += op->c[0] * p->pt;
}
#endif
