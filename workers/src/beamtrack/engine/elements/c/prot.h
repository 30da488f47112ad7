/* PRot: exact pole-face rotation in the x-z plane (ImpactX's PRot; MaryLie 3.0 manual, Sec. 6.5;
 * A. J. Dragt, Lie Methods ..., App. V). PRot_phi_in_rad(op) = phi_in,
 * PRot_phi_out_rad(op) = phi_out [rad]; theta = phi_out - phi_in.
 *   pz = sqrt(1 - 2 pt/beta + pt^2 - py^2 - (px + sin phi_in)^2),
 *   pzf = pz cos(theta) - (px + sin phi_in) sin(theta),
 *   x' = x pz/pzf,  px' = px cos(theta) + (pz - cos phi_in) sin(theta),
 *   y' = y + py x sin(theta)/pzf,  t' = t - (pt - 1/beta) x sin(theta)/pzf.
 * A particle with no real pz, or moving backwards in the rotated frame (pzf <= 0), is lost (ImpactX
 * produces NaN / a reversed particle). Source: ImpactX src/elements/PRot.H.
 */
#ifndef BEAMTRACK_PROT_H
#define BEAMTRACK_PROT_H
#include "beamtrack/engine/kernels/bt_common.h"

/* c[0] = 1/beta, c[1] = sin(theta), c[2] = cos(theta), c[3] = sin(phi_in), c[4] = cos(phi_in) */
BT_FN void PRot_setup(bt_op* op, const double* aux)
{
    (void)aux;
    double const theta = PRot_phi_out_rad(op) - PRot_phi_in_rad(op);
    op->c[0] = 1.0 / op->beta;
    op->c[1] = sin(theta);
    op->c[2] = cos(theta);
    op->c[3] = sin(PRot_phi_in_rad(op));
    op->c[4] = cos(PRot_phi_in_rad(op));
}

BT_FN void PRot_push(const bt_op* op, const double* aux, bt_part* p)
{
    (void)aux;
    double const ib = op->c[0], st = op->c[1], ct = op->c[2];
    double const x = p->x, px = p->px, py = p->py, pt = p->pt;
    double const pxr = px + op->c[3];
    double const pz2 = 1.0 - 2.0 * pt * ib + pt * pt - py * py - pxr * pxr;
    int bad = !(pz2 > 0.0);
    double const pz = sqrt(bad ? 1.0 : pz2);
    double const pzf = pz * ct - pxr * st;
    bad |= !(pzf > 0.0);
    double const ipzf = bad ? 0.0 : 1.0 / pzf;
    double const xs = x * st * ipzf;
    p->x = bad ? x : x * pz * ipzf;
    p->px = bad ? px : px * ct + (pz - op->c[4]) * st;
    p->y += py * xs;
    p->t -= (pt - ib) * xs;
    p->lost |= bad;
}
#endif
