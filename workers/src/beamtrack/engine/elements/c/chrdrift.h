/* ChrDrift: drift with chromatic effects, exact in pt and paraxial in px, py (ImpactX's ChrDrift).
 * Hamiltonian H = -pt/beta - D + (px^2 + py^2) / (2 D), D = sqrt(1 - 2 pt/beta + pt^2) = 1 + delta.
 * Source: ImpactX src/elements/ChrDrift.H. The t update is ImpactX's, rewritten without the
 * cancellation between -1/beta and (1/beta - pt)/D:  (1/beta - pt)/D - 1/beta
 *   = pt (2/beta - pt) / (gamma^2 beta D (beta (1/beta - pt) + D)).
 */
#ifndef BEAMTRACK_CHRDRIFT_H
#define BEAMTRACK_CHRDRIFT_H
#include "beamtrack/engine/kernels/bt_common.h"

/* c[0] = 1/beta, c[1] = 1/gamma^2, c[2] = beta */
BT_FN void ChrDrift_setup(bt_op* op, const double* aux)
{
    (void)aux;
    op->c[0] = 1.0 / op->beta;
    op->c[1] = 1.0 / (op->gamma * op->gamma);
    op->c[2] = op->beta;
}

/* dt/ds of a chromatic paraxial drift for momenta px, py, pt, with D = 1 + delta and u = 1/beta - pt. */
BT_FN double bt_chr_dtds(const bt_op* op, double pt, double pperp2, double D, double iD)
{
    double const ib = op->c[0], b = op->c[2];
    double const u = ib - pt;
    double const base = pt * (2.0 * ib - pt) * op->c[1] * ib * iD / (b * u + D);
    return base + 0.5 * u * pperp2 * iD * iD * iD;
}

BT_FN void ChrDrift_push(const bt_op* op, const double* aux, bt_part* p)
{
    (void)aux;
    double const L = op->ds, ib = op->c[0];
    double const D = sqrt(1.0 - 2.0 * p->pt * ib + p->pt * p->pt);
    double const iD = 1.0 / D;
    double const pperp2 = p->px * p->px + p->py * p->py;
    p->t += L * bt_chr_dtds(op, p->pt, pperp2, D, iD);
    p->x += L * p->px * iD;
    p->y += L * p->py * iD;
}
#endif
