/* Buncher (thin linear RF buncher at the zero crossing; ImpactX's Buncher):
 * px += k V / (2 (beta gamma)^2) x, py += k V / (2 (beta gamma)^2) y, pt -= k V t.
 * Source: ImpactX src/elements/Buncher.H. Buncher_V(op) (normalized voltage), Buncher_k(op) [1/m]. */
#ifndef BEAMTRACK_BUNCHER_H
#define BEAMTRACK_BUNCHER_H
#include "beamtrack/engine/kernels/bt_common.h"

BT_FN void Buncher_setup(bt_op* op, const double* aux)
{
    (void)aux;
    double const bg2 = op->beta_gamma * op->beta_gamma;
    op->c[0] = -Buncher_k(op) * Buncher_V(op);
    op->c[1] = -op->c[0] / (2.0 * bg2);
}

BT_FN void Buncher_push(const bt_op* op, const double* aux, bt_part* p)
{
    (void)aux;
    p->px += op->c[1] * p->x;
    p->py += op->c[1] * p->y;
    p->pt += op->c[0] * p->t;
}
#endif
