/* ShortRF (thin nonlinear RF gap; ImpactX's ShortRF): in dynamic units (momenta times beta gamma),
 * pt -> pt - V cos(k t + phi) + V cos(phi), k = 2 pi freq / c, with momenta scaled by the
 * reference beta gamma before (bgi) and after (bgf) the gap; the reference loses V cos(phi) in pt
 * (gains energy for V cos(phi) > 0). phase = 0: on crest; -90 deg: zero crossing, bunching.
 * Source: ImpactX src/elements/ShortRF.H. ShortRF_V(op) (q V / (m c^2)), ShortRF_freq(op) [Hz],
 * ShortRF_phase(op) [deg].
 * op->pt_ref is the reference after the gap (ImpactX pushes the reference first). */
#ifndef BEAMTRACK_SHORTRF_H
#define BEAMTRACK_SHORTRF_H
#include "beamtrack/engine/kernels/bt_common.h"

/* c[0] = k, c[1] = phi, c[2] = V cos(phi), c[3] = bgi, c[4] = 1 / bgf */
BT_FN void ShortRF_setup(bt_op* op, const double* aux)
{
    (void)aux;
    double const pi = 3.14159265358979323846;
    double const V = ShortRF_V(op);
    op->c[0] = 2.0 * pi / 299792458.0 * ShortRF_freq(op);
    op->c[1] = ShortRF_phase(op) * pi / 180.0;
    op->c[2] = V * cos(op->c[1]);
    double const ptf = op->pt_ref, pti = ptf + op->c[2];
    op->c[3] = sqrt(pti * pti - 1.0);
    op->c[4] = 1.0 / sqrt(ptf * ptf - 1.0);
}

BT_FN void ShortRF_push(const bt_op* op, const double* aux, bt_part* p)
{
    (void)aux;
    double const bgi = op->c[3], ibgf = op->c[4];
    double const pt = p->pt * bgi - ShortRF_V(op) * cos(op->c[0] * p->t + op->c[1]) + op->c[2];
    p->px = p->px * bgi * ibgf;
    p->py = p->py * bgi * ibgf;
    p->pt = pt * ibgf;
}
#endif
