/* ExactCFbend: combined-function sector bend with the exact Hamiltonian (ImpactX's ExactCFbend).
 * H = H1 + H2: H1 the exact sector bend of radius rc = 1 / k_normal[0] (map1: the exact ExactSbend-like
 * rotation of (x, px) through the angle tau / rc, y and t from the orbit angle theta); H2 the multipole
 * field of orders 2..5 (quadrupole .. decapole) in the curved frame (map2: kicks in closed form in
 * rho = 1 + x/rc, ln rho, y/rc with strengths rc^m kn_m, rc^m ks_m), composed by ImpactX's symplectic
 * integrators (symplectic.h). Formulas: ImpactX src/elements/ExactCFbend.H (26.10). A particle outside
 * the map's domain (px^2 >= pperp^2 before or after the bend rotation) is lost (ImpactX leaves it unpushed).
 * ExactCFbend_int_order(op), ExactCFbend_mapsteps(op),
 * ExactCFbend_scale(op) = 1 / rigidity for unit 1 else 1; aux: n k_normal then n k_skew.
 */
#ifndef BEAMTRACK_EXACTCFBEND_H
#define BEAMTRACK_EXACTCFBEND_H
#include "beamtrack/engine/kernels/bt_common.h"
#include "beamtrack/engine/elements/c/symplectic.h"

/* c[0] = 1/beta, c[1] = rc [m], c[2..5] = rc^m kn_m (m = 1..4), c[6..9] = rc^m ks_m */
BT_FN void ExactCFbend_setup(bt_op* op, const double* aux)
{
    int64_t const n = op->aux_len / 2;
    const double* kn = aux + op->aux_offset;
    const double* ks = kn + n;
    double const scale = ExactCFbend_scale(op);
    double const rc = 1.0 / (kn[0] * scale);
    op->c[0] = 1.0 / op->beta;
    op->c[1] = rc;
    double rm = 1.0;
    for (int m = 1; m <= 4; ++m) {
        rm *= rc;
        op->c[1 + m] = (m < n) ? rm * kn[m] * scale : 0.0;
        op->c[5 + m] = (m < n) ? rm * ks[m] * scale : 0.0;
    }
}

BT_FN void bt_exactcfbend_map1(const bt_op* op, const double* aux, double tau, bt_part* p)
{
    (void)aux;
    double const ib = op->c[0], rc = op->c[1];
    double const pt = p->pt, px = p->px, py = p->py;
    double const pperp2 = pt * pt - 2.0 * ib * pt - py * py + 1.0;
    double const phi = tau / rc;
    double const sp = sin(phi), cp = cos(phi);
    if (!(pperp2 > px * px)) { p->lost = 1; return; }
    double const pperp = sqrt(pperp2);
    double const pzi = sqrt(pperp2 - px * px);
    double const rho = rc + p->x;
    double const pxo = px * cp + (pzi - rho / rc) * sp;
    if (!(pperp2 > pxo * pxo)) { p->lost = 1; return; }
    double const pzf = sqrt(pperp2 - pxo * pxo);
    double const theta = phi + asin(px / pperp) - asin(pxo / pperp);
    p->x = -rc + rho * cp + rc * (pzf + px * sp - pzi * cp);
    p->px = pxo;
    p->y = p->y + theta * rc * py;
    p->t = p->t - theta * rc * (pt - ib) - phi * rc * ib;
}

/* the kick per unit length (dpx, dpy) of the multipole terms at (x, y) (map2; also the field of the spin push) */
BT_FN void bt_exactcfbend_kicks(const bt_op* op, double x, double y, double* dpx_out, double* dpy_out)
{
    double const rc = op->c[1];
    double const rho = 1.0 + x / rc, ys = y / rc, L = log(rho);
    double const r2 = rho * rho, y2 = ys * ys;
    double const kn2 = op->c[2], kn3 = op->c[3], kn4 = op->c[4], kn5 = op->c[5];
    double const ks2 = op->c[6], ks3 = op->c[7], ks4 = op->c[8], ks5 = op->c[9];
    double dpx = 0.0, dpy = 0.0;
    /* quadrupole */
    dpx += -rho * L * kn2 + ys * rho * ks2;
    dpy += ys * kn2 + 0.5 * (r2 - 1.0) * ks2;
    /* sextupole */
    dpx += 0.25 * rho * (1.0 + 2.0 * y2 - r2 + 2.0 * L) * kn3 + ys * rho * L * ks3;
    dpy += 0.5 * ys * (r2 - 1.0) * kn3 + 0.25 * (1.0 - 2.0 * y2 - r2 + 2.0 * r2 * L) * ks3;
    /* octupole */
    dpx += -0.25 * (rho - r2 * rho + (rho - 2.0 * y2 * rho + r2 * rho) * L) * kn4
           - 1.0 / 12.0 * ys * rho * (3.0 + 2.0 * y2 - 3.0 * r2 + 6.0 * L) * ks4;
    dpy += -1.0 / 12.0 * ys * (-3.0 + 2.0 * y2 + 3.0 * r2 - 6.0 * r2 * L) * kn4
           - 1.0 / 16.0 * ((-1.0 + 4.0 * y2 - r2) * (-1.0 + r2) + 4.0 * r2 * L) * ks4;
    /* decapole */
    dpx += -1.0 / 192.0 * rho * (8.0 * y2 * y2 - 24.0 * y2 * (-1.0 + r2) + 3.0 * (-5.0 + 4.0 * r2 + r2 * r2)
                                 + 12.0 * (-1.0 + 4.0 * y2 - 2.0 * r2) * L) * kn5
           + 1.0 / 12.0 * ys * rho * (3.0 * (-1.0 + r2) + (2.0 * y2 - 3.0 * (1.0 + r2)) * L) * ks5;
    dpy += -1.0 / 48.0 * ys * ((-1.0 + r2) * (4.0 * y2 - 3.0 * (1.0 + r2)) + 12.0 * r2 * L) * kn5
           + 1.0 / 192.0 * (3.0 + 8.0 * y2 * y2 + 12.0 * r2 - 15.0 * r2 * r2 + 24.0 * y2 * (-1.0 + r2)
                            + 12.0 * r2 * (2.0 - 4.0 * y2 + r2) * L) * ks5;
    *dpx_out = dpx;
    *dpy_out = dpy;
}

BT_FN void bt_exactcfbend_map2(const bt_op* op, const double* aux, double tau, bt_part* p)
{
    (void)aux;
    double dpx, dpy;
    bt_exactcfbend_kicks(op, p->x, p->y, &dpx, &dpy);
    p->px += tau * dpx;
    p->py += tau * dpy;
}

BT_FN void ExactCFbend_push(const bt_op* op, const double* aux, bt_part* p)
{
    BT_SYMP_INTEGRATE(bt_exactcfbend_map1, bt_exactcfbend_map2, op, aux, p, (int)ExactCFbend_int_order(op),
                      (int)ExactCFbend_mapsteps(op), op->ds);
}
#endif
