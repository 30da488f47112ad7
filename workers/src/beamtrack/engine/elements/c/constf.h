/* ConstF (constant linear focusing; ImpactX's ConstF): in each plane u = x, y, t a harmonic
 * oscillator of wavenumber ku [1/m] (kx, ky < 0: defocusing, cosh/sinh), with the longitudinal
 * pair (t, pt) scaled by (beta gamma)^2:
 *   t' = cos(kt L) t + sin(kt L) / (kt bg^2) pt,  pt' = -kt bg^2 sin(kt L) t + cos(kt L) pt.
 * Source: ImpactX src/elements/ConstF.H. ConstF_kx(op), ConstF_ky(op), ConstF_kt(op) (>= 0) [1/m]. */
#ifndef BEAMTRACK_CONSTF_H
#define BEAMTRACK_CONSTF_H
#include "beamtrack/engine/kernels/bt_common.h"

/* one transverse plane: out[0] = cos, out[1] = sin / k, out[2] = -k sin (hyperbolic for k < 0) */
BT_FN void bt_constf_plane(double k, double L, double* out)
{
    if (k > 0.0) {
        out[0] = cos(k * L); out[1] = sin(k * L) / k; out[2] = -k * sin(k * L);
    } else if (k < 0.0) {
        double const sh = sinh(-k * L);
        out[0] = cosh(-k * L); out[1] = -sh / k; out[2] = -k * sh;
    } else {
        out[0] = 1.0; out[1] = L; out[2] = 0.0;
    }
}

/* c[0..2]: x (cos, sinc, const), c[3..5]: y, c[6] = cos(kt L), c[7] = const_pt, c[8] = const_t */
BT_FN void ConstF_setup(bt_op* op, const double* aux)
{
    (void)aux;
    double const L = op->ds, kt = ConstF_kt(op);
    double const bg2 = op->beta_gamma * op->beta_gamma;
    bt_constf_plane(ConstF_kx(op), L, op->c);
    bt_constf_plane(ConstF_ky(op), L, op->c + 3);
    op->c[6] = cos(kt * L);
    op->c[7] = (kt > 0.0 ? sin(kt * L) / kt : L) / bg2;
    op->c[8] = -kt * bg2 * sin(kt * L);
}

BT_FN void ConstF_push(const bt_op* op, const double* aux, bt_part* p)
{
    (void)aux;
    double const* c = op->c;
    double const x = p->x, px = p->px, y = p->y, py = p->py, t = p->t, pt = p->pt;
    p->x = c[0] * x + c[1] * px;
    p->px = c[2] * x + c[0] * px;
    p->y = c[3] * y + c[4] * py;
    p->py = c[5] * y + c[3] * py;
    p->t = c[6] * t + c[7] * pt;
    p->pt = c[8] * t + c[6] * pt;
}
#endif
