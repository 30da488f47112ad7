/* Spin through a ChrAcc slice (ImpactX 26.10's ChrAcc::spin_and_phasespace_push; its 26.10 source is not public,
 * the map was identified on ImpactX 26.10 itself: per particle, the rotation taken from the images of three basis
 * spins; tests/oracle/test_spin_oracle.py). It is the linearised Thomas-BMT rotation along the particle's orbit in
 * the uniform fields Ez, Bz, integrated in closed form over u = acosh(gamma) (du = ez ds / (beta gamma)), with the
 * particle's own entry and exit gamma:
 *   first the transverse rotation lambda_x + i lambda_y = c P0 of the entry kinetic transverse momentum
 *     P0 = (bg px + alpha y) + i (bg py - alpha x)   [m c; bg the entry reference beta gamma, alpha = bz / 2],
 *     c  = -i (e^{i a} w_f - w_i) - i G D (e^{i a} - 1) / (i a),   (e^{i a} - 1) / (i a) -> 1 for a = 0,
 *     D  = acosh(gamma_f) - acosh(gamma_i), a = G bz D / ez, w = tanh(u / 2) = beta gamma / (gamma + 1),
 *   then the rotation about s by -(1 + G) bz D / ez (twice the particle's Larmor angle, times -(1 + G)),
 * then the slice's phase-space map. gamma_i = -pt_i, gamma_f = -pt_f of the particle as in chracc.h.
 * A lost particle (no forward motion) keeps its spin. */
#ifndef BEAMTRACK_SPIN_CHRACC_H
#define BEAMTRACK_SPIN_CHRACC_H
#include "beamtrack/engine/kernels/bt_spin.h"
#include "beamtrack/engine/elements/c/chracc.h"

BT_FN void ChrAcc_spin_setup(bt_op* op, const double* aux) { (void)op; (void)aux; }

BT_FN void ChrAcc_spin_push(const bt_op* op, const double* aux, bt_part* p, bt_spin* s)
{
    double const G = op->p[BT_P_GYRO], ez = ChrAcc_ez(op), bz = ChrAcc_bz(op);
    double const bgi_ref = op->c[3], alpha = op->c[4];
    double const pt = p->pt * bgi_ref;
    double const gi = -(op->c[1] + pt), gf = -(op->c[0] + pt);
    if (gi > 1.0 && gf > 1.0) {
        double const bgi = sqrt(gi * gi - 1.0), bgf = sqrt(gf * gf - 1.0);
        double const D = log((bgf + gf) / (bgi + gi));
        double const a = G * bz * D / ez;
        double const sa = sin(a), ca = cos(a);
        double const sinc = (a != 0.0) ? sa / a : 1.0;         /* sin(a) / a */
        double const cosc = (a != 0.0) ? 2.0 * sin(0.5 * a) * sin(0.5 * a) / a : 0.0; /* (1 - cos a) / a */
        double const wi = bgi / (gi + 1.0), wf = bgf / (gf + 1.0);
        double const c_re = wf * sa + G * D * cosc, c_im = wi - wf * ca - G * D * sinc;
        double const P_re = bgi_ref * p->px + alpha * p->y, P_im = bgi_ref * p->py - alpha * p->x;
        bt_rotate_spin(c_re * P_re - c_im * P_im, c_re * P_im + c_im * P_re, 0.0, s);
        bt_rotate_spin(0.0, 0.0, -(1.0 + G) * bz * D / ez, s);
    }
    ChrAcc_push(op, aux, p);
}
#endif
