/* Spin through a thin Multipole (ImpactX's Multipole::spin_and_phasespace_push): the Thomas-BMT
 * rotation of the integrated field B L = (Im kick, Re kick) beta gamma_ref / (m-1)! (kick =
 * (K_normal + i K_skew)(x + i y)^(m-1)), with the velocity direction u = (px, py, ps) / P at the
 * transverse momentum halfway through the kick (ImpactX 26.10: reversing the element gives the exact
 * inverse rotation), P = sqrt(1 - 2 pt/beta + pt^2), ps = sqrt(P^2 - px^2 - py^2), gamma_p =
 * gamma (1 - beta pt), h = 0; the kick first. Source: ImpactX src/elements/Multipole.H (26.10; 26.06
 * took the entry momentum: 2e-8 apart for a thin quadrupole of K = 3 at px ~ 1e-3). */
#ifndef BEAMTRACK_SPIN_MULTIPOLE_H
#define BEAMTRACK_SPIN_MULTIPOLE_H
#include "beamtrack/engine/kernels/bt_spin.h"
#include "beamtrack/engine/elements/c/multipole.h"

BT_FN void Multipole_spin_setup(bt_op* op, const double* aux)
{
    (void)op;
    (void)aux;
}

BT_FN void Multipole_spin_push(const bt_op* op, const double* aux, bt_part* p, bt_spin* s)
{
    int const n = (int)op->c[1];
    double const x = p->x, y = p->y, px = p->px, py = p->py, pt = p->pt;
    double zr = 1.0, zi = 0.0;
    for (int i = 0; i < n; ++i) {
        double const r = zr * x - zi * y;
        zi = zr * y + zi * x;
        zr = r;
    }
    double const kn = Multipole_K_normal(op), ks = Multipole_K_skew(op), beta = op->beta, gref = op->gamma;
    double const kr = zr * kn - zi * ks, ki = zr * ks + zi * kn;
    double const Bx = ki * op->c[0] * beta * gref, By = kr * op->c[0] * beta * gref;
    Multipole_push(op, aux, p);
    double const pxm = 0.5 * (px + p->px), pym = 0.5 * (py + p->py);
    double const P = sqrt(1.0 - 2.0 * pt / beta + pt * pt), iP = 1.0 / P;
    double const ps = sqrt(P * P - pxm * pxm - pym * pym);
    double om[3];
    bt_tbmt(x, pxm * iP, pym * iP, ps * iP, gref * (1.0 - pt * beta), 0.0, op->p[BT_P_GYRO], Bx, By, 0.0, 0.0, 0.0, 0.0, om);
    bt_rotate_spin(om[0], om[1], om[2], s);
}
#endif
