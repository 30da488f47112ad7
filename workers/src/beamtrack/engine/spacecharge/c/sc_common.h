/* Space-charge particle <-> grid kernels shared by the CPU (sc_cpu.c) and CUDA (sc_cuda.cu) builds.
 *
 * Sources of the formulas (facts only, this is an independent implementation):
 *  - particle shapes: WarpX/ABLASTR nodal shape factors of order 1 (CIC), 2 (TSC, centred on the
 *    nearest node) and 3 (cubic B-spline);
 *  - fixed-s <-> fixed-t transforms: ImpactX src/particles/transformation/ToFixedT.H, ToFixedS.H;
 *  - integrated Green's functions: ABLASTR fields/IntegratedGreenFunctionSolver.H (3D: Qiang et al.,
 *    PRSTAB 9, 044204 (2006) and 10, 129901 (2007); 2D: Abell et al., JCP 2004, eq. 58 negated).
 * Grids are C-ordered (last index fastest); node a of axis d sits at lo[d] + a / inv_d[d].
 */
#ifndef BEAMTRACK_SPACECHARGE_SC_COMMON_H
#define BEAMTRACK_SPACECHARGE_SC_COMMON_H

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define SC_FN __device__ static inline
#define SC_ADD(ptr, v) atomicAdd((ptr), (v))
#else
#include <math.h>
#include <stdint.h>
#define SC_FN static inline
#define SC_ADD(ptr, v) (*(ptr) += (v))
#endif

#ifdef __CUDACC_RTC__
typedef long long int64_t;
typedef int int32_t;
#endif

#define SC_MAXS 4 /* nodes per axis of the widest (cubic) stencil */

/* Shape weights of a particle at grid coordinate u (in cells from node 0): writes order+1 weights
 * into w and returns the index of the first node they apply to. */
SC_FN int sc_shape(int const order, double const u, double* w)
{
    if (order == 1) {
        double const fl = floor(u);
        double const f = u - fl;
        w[0] = 1.0 - f;
        w[1] = f;
        return (int)fl;
    }
    if (order == 2) {
        double const j = floor(u + 0.5);
        double const f = u - j;
        w[0] = 0.5 * (0.5 - f) * (0.5 - f);
        w[1] = 0.75 - f * f;
        w[2] = 0.5 * (0.5 + f) * (0.5 + f);
        return (int)j - 1;
    }
    {
        double const fl = floor(u);
        double const f = u - fl;
        double const g = 1.0 - f;
        w[0] = g * g * g / 6.0;
        w[1] = 2.0 / 3.0 - f * f + 0.5 * f * f * f;
        w[2] = 2.0 / 3.0 - g * g + 0.5 * g * g * g;
        w[3] = f * f * f / 6.0;
        return (int)fl - 1;
    }
}

/* ImpactX ToFixedT: (x, y, t, px, py, pt) at fixed s -> (x, y, z, px, py, pz) at fixed t, in place.
 * ptd = reference pt = -gamma. Momenta stay normalised by the reference momentum. */
SC_FN void sc_to_fixed_t(double const ptd, double* x, double* y, double* t, double* px, double* py, double* pt)
{
    double const tol = 1.0e-12;
    double const argd = -1.0 + ptd * ptd;
    double const pzdf = argd > 0.0 ? sqrt(argd) : tol;
    double const ux = *px * pzdf, uy = *py * pzdf, ut = *pt * pzdf;
    double const arg = -1.0 + (ptd + ut) * (ptd + ut) - ux * ux - uy * uy;
    double const pzf = arg > 0.0 ? sqrt(arg) : tol;
    double const tt = *t;
    *x = *x + ux * tt / (ptd + ut);
    *y = *y + uy * tt / (ptd + ut);
    *t = pzf * tt / (ptd + ut);
    *pt = (pzf - pzdf) / pzdf;
}

/* ImpactX ToFixedS: the inverse of sc_to_fixed_t, in place. pzd = reference beta*gamma. */
SC_FN void sc_to_fixed_s(double const pzd, double* x, double* y, double* z, double* px, double* py, double* pz)
{
    double const argd = 1.0 + pzd * pzd;
    double const ptdf = -sqrt(argd);
    double const ux = *px * pzd, uy = *py * pzd, uz = *pz * pzd;
    double const arg = 1.0 + (pzd + uz) * (pzd + uz) + ux * ux + uy * uy;
    double const ptf = -sqrt(arg);
    double const zz = *z;
    *x = *x - ux * zz / (pzd + uz);
    *y = *y - uy * zz / (pzd + uz);
    *z = ptf * zz / (pzd + uz);
    *pz = (ptf - ptdf) / pzd;
}

/* The bin of t in a 2.5D line-density profile of nb bins from bin_min, clamped to [0, nb - 1]. */
SC_FN int64_t sc_bin(double const t, double const bin_min, double const bin_size, int64_t const nb)
{
    int64_t const idx = (int64_t)((t - bin_min) / bin_size);
    return idx < 0 ? 0 : (idx >= nb ? nb - 1 : idx);
}

/* The space-charge push of particle i (column of the (rows, cap) block real) by its field e:
 * (px, py) += cxy (e[0], e[1]), pt += cz e[2]; the field goes to eout, a (3, n) block, when eout is not
 * NULL; with fixed_t the particle then goes back from fixed t to fixed s (pzd: sc_to_fixed_s). Every
 * push of the CPU and CUDA builds (PIC 3D, 2D, 2.5D; Gauss 3D, 2.5D) is this one. */
SC_FN void sc_push_one(double* real, int64_t const cap, int64_t const n, int64_t const i, const double* e,
                       double const cxy, double const cz, int const fixed_t, double const pzd, double* eout)
{
    if (eout) {
        eout[i] = e[0];
        eout[n + i] = e[1];
        eout[2 * n + i] = e[2];
    }
    real[3 * cap + i] += cxy * e[0];
    real[4 * cap + i] += cxy * e[1];
    real[5 * cap + i] += cz * e[2];
    if (fixed_t)
        sc_to_fixed_s(pzd, &real[i], &real[cap + i], &real[2 * cap + i], &real[3 * cap + i], &real[4 * cap + i],
                      &real[5 * cap + i]);
}

/* Deposit charge q of one particle at (x, y, z) onto a 3D nodal grid. Returns 0 when the stencil
 * would leave the grid (nothing deposited). */
SC_FN int sc_deposit3d_one(int const order, double* rho, int64_t const n0, int64_t const n1, int64_t const n2,
                           const double* lo, const double* inv_d, double const x, double const y, double const z,
                           double const q)
{
    double wx[SC_MAXS], wy[SC_MAXS], wz[SC_MAXS];
    int const s = order + 1;
    int const i0 = sc_shape(order, (x - lo[0]) * inv_d[0], wx);
    int const j0 = sc_shape(order, (y - lo[1]) * inv_d[1], wy);
    int const k0 = sc_shape(order, (z - lo[2]) * inv_d[2], wz);
    if (i0 < 0 || j0 < 0 || k0 < 0 || i0 + s > n0 || j0 + s > n1 || k0 + s > n2) return 0;
    for (int a = 0; a < s; ++a) {
        for (int b = 0; b < s; ++b) {
            double* row = rho + ((int64_t)(i0 + a) * n1 + (j0 + b)) * n2 + k0;
            double const qab = q * wx[a] * wy[b];
            for (int c = 0; c < s; ++c) SC_ADD(&row[c], qab * wz[c]);
        }
    }
    return 1;
}

/* 2D variant (x, y only). */
SC_FN int sc_deposit2d_one(int const order, double* rho, int64_t const n0, int64_t const n1,
                           const double* lo, const double* inv_d, double const x, double const y, double const q)
{
    double wx[SC_MAXS], wy[SC_MAXS];
    int const s = order + 1;
    int const i0 = sc_shape(order, (x - lo[0]) * inv_d[0], wx);
    int const j0 = sc_shape(order, (y - lo[1]) * inv_d[1], wy);
    if (i0 < 0 || j0 < 0 || i0 + s > n0 || j0 + s > n1) return 0;
    for (int a = 0; a < s; ++a) {
        double* row = rho + (int64_t)(i0 + a) * n1 + j0;
        double const qa = q * wx[a];
        for (int b = 0; b < s; ++b) SC_ADD(&row[b], qa * wy[b]);
    }
    return 1;
}

/* Gather the nodal vector field (ex, ey, ez) at (x, y, z) with the deposition shape. Returns 0 (and
 * zero field) off the grid. */
SC_FN int sc_gather3d_one(int const order, const double* ex, const double* ey, const double* ez,
                          int64_t const n0, int64_t const n1, int64_t const n2, const double* lo,
                          const double* inv_d, double const x, double const y, double const z, double* e)
{
    double wx[SC_MAXS], wy[SC_MAXS], wz[SC_MAXS];
    int const s = order + 1;
    int const i0 = sc_shape(order, (x - lo[0]) * inv_d[0], wx);
    int const j0 = sc_shape(order, (y - lo[1]) * inv_d[1], wy);
    int const k0 = sc_shape(order, (z - lo[2]) * inv_d[2], wz);
    e[0] = e[1] = e[2] = 0.0;
    if (i0 < 0 || j0 < 0 || k0 < 0 || i0 + s > n0 || j0 + s > n1 || k0 + s > n2) return 0;
    for (int a = 0; a < s; ++a) {
        for (int b = 0; b < s; ++b) {
            int64_t const off = ((int64_t)(i0 + a) * n1 + (j0 + b)) * n2 + k0;
            double const wab = wx[a] * wy[b];
            double sx = 0.0, sy = 0.0, sz = 0.0;
            for (int c = 0; c < s; ++c) {
                sx += ex[off + c] * wz[c];
                sy += ey[off + c] * wz[c];
                sz += ez[off + c] * wz[c];
            }
            e[0] += wab * sx;
            e[1] += wab * sy;
            e[2] += wab * sz;
        }
    }
    return 1;
}

/* 2D gather of (ex, ey) and, when phi is not NULL, of the potential into e[2]. */
SC_FN int sc_gather2d_one(int const order, const double* ex, const double* ey, const double* phi,
                          int64_t const n0, int64_t const n1, const double* lo, const double* inv_d,
                          double const x, double const y, double* e)
{
    double wx[SC_MAXS], wy[SC_MAXS];
    int const s = order + 1;
    int const i0 = sc_shape(order, (x - lo[0]) * inv_d[0], wx);
    int const j0 = sc_shape(order, (y - lo[1]) * inv_d[1], wy);
    e[0] = e[1] = e[2] = 0.0;
    if (i0 < 0 || j0 < 0 || i0 + s > n0 || j0 + s > n1) return 0;
    for (int a = 0; a < s; ++a) {
        int64_t const off = (int64_t)(i0 + a) * n1 + j0;
        double sx = 0.0, sy = 0.0, sp = 0.0;
        for (int b = 0; b < s; ++b) {
            sx += ex[off + b] * wy[b];
            sy += ey[off + b] * wy[b];
            if (phi) sp += phi[off + b] * wy[b];
        }
        e[0] += wx[a] * sx;
        e[1] += wx[a] * sy;
        e[2] += wx[a] * sp;
    }
    return 1;
}

/* Antiderivative of 1/r over a box corner (ABLASTR IntegratedPotential3D); no argument may be 0. */
SC_FN double sc_igf3d_corner(double const x, double const y, double const z)
{
    double const r = sqrt(x * x + y * y + z * z);
    return -0.5 * z * z * atan(x * y / (z * r)) - 0.5 * y * y * atan(x * z / (y * r))
           - 0.5 * x * x * atan(y * z / (x * r)) + y * z * asinh(x / sqrt(y * y + z * z))
           + x * z * asinh(y / sqrt(x * x + z * z)) + x * y * asinh(z / sqrt(x * x + y * y));
}

/* sc_igf3d_corner for x, y, z > 0, with asinh(a / b) = ln((a + r) / b) (r^2 = a^2 + b^2): cheaper. */
SC_FN double sc_igf3d_corner_pos(double const x, double const y, double const z)
{
    double const x2 = x * x, y2 = y * y, z2 = z * z;
    double const r = sqrt(x2 + y2 + z2);
    return -0.5 * z2 * atan(x * y / (z * r)) - 0.5 * y2 * atan(x * z / (y * r)) - 0.5 * x2 * atan(y * z / (x * r))
           + y * z * log((x + r) / sqrt(y2 + z2)) + x * z * log((y + r) / sqrt(x2 + z2))
           + x * y * log((z + r) / sqrt(x2 + y2));
}

/* Antiderivative of -ln(x^2 + y^2) over a rectangle corner (ABLASTR IntegratedPotential2D). */
SC_FN double sc_igf2d_corner(double const x, double const y)
{
    return 3.0 * x * y - x * x * atan(y / x) - y * y * atan(x / y) - x * y * log(x * x + y * y);
}

/* --- analytic Gaussian models (ImpactX Gauss3D and Gauss2p5D) --------------------------------------
 * J. Qiang, "A two-and-a-half dimensional symplectic space-charge solver", LBNL-2001674 (2025): the field
 * of a Gaussian bunch written as integrals over u in [0, 1] (the substitution u^2 = 2 sigma_x^2 /
 * (2 sigma_x^2 + lambda) of the heat-kernel form of the Coulomb integral), evaluated by composite
 * Simpson on nint points (made odd), as ImpactX's Gauss3dPush.cpp / Gauss2p5dPush.cpp. */

/* Gauss3D: with X = x/sx, Y = y/sy, Z = z/sz, A = sx/sy, B = sx/(gamma sz), t(u) = A^2 + (1 - A^2) u^2,
 * b(u) = B^2 + (1 - B^2) u^2 and f(u) = u^2 exp(-u^2 (X^2 + Y^2/t + Z^2/b) / 2) / sqrt(t b):
 * I = (int f, int f/t, int f/b) over [0, 1] (eqs. 45-47; the field is E_i ~ x_i I_i). */
SC_FN void sc_gauss3d_integrals(int nint, double const x, double const y, double const z, double const sx,
                                double const sy, double const sz, double const gamma, double* I)
{
    if (nint % 2 == 0) nint += 1;
    double const h = 1.0 / (nint - 1);
    double const X2 = (x / sx) * (x / sx), Y2 = (y / sy) * (y / sy), Z2 = (z / sz) * (z / sz);
    double const A2 = (sx / sy) * (sx / sy), B = sx / (sz * gamma), B2 = B * B;
    double s0 = 0.0, s1 = 0.0, s2 = 0.0;
    for (int i = 0; i < nint; ++i) {
        double const u = i * h, u2 = u * u;
        double const t = A2 + (1.0 - A2) * u2, b = B2 + (1.0 - B2) * u2;
        double const f = u2 * exp(-0.5 * u2 * (X2 + Y2 / t + Z2 / b)) / (sqrt(t) * sqrt(b));
        double const wt = (i == 0 || i == nint - 1) ? 1.0 : ((i & 1) ? 4.0 : 2.0);
        s0 += wt * f;
        s1 += wt * f / t;
        s2 += wt * f / b;
    }
    I[0] = s0 * h / 3.0;
    I[1] = s1 * h / 3.0;
    I[2] = s2 * h / 3.0;
}

/* Gauss2p5D: the transverse field and potential of a 2D Gaussian (eqs. 25, 31, 32). With X, Y, A, t(u)
 * as above and g(u) = exp(-u^2 (X^2 + Y^2/t) / 2):
 *   I[0] = 2 A X / sx int u g / sqrt(t),  I[1] = 2 A Y / sy int u g / t^1.5,  I[2] = 2 A int (g - 1) / (u sqrt(t))
 * over [delta, 1] by Simpson, plus [0, delta] by one trapezoid with the Taylor form of g near u = 0.
 * As ImpactX, the trapezoid term sits inside Simpson's factor h/3 (so it enters with a third of its
 * weight: a relative effect of order delta^2). */
SC_FN void sc_gauss2d_integrals(double const delta, int nint, double const x, double const y, double const sx,
                                double const sy, double* I)
{
    if (nint % 2 == 0) nint += 1;
    double const h = (1.0 - delta) / (nint - 1);
    double const X = x / sx, Y = y / sy, X2 = X * X, Y2 = Y * Y;
    double const A = sx / sy, A2 = A * A;
    double tz, tx, ty;
    { /* [0, delta]: trapezoid with the integrands' value at delta (Taylor form for the potential) */
        double const t = A2 + (1.0 - A2) * delta * delta, st = sqrt(t);
        double const a = -0.5 * (X2 + Y2 / t);
        double const g = exp(delta * delta * a);
        tz = 0.5 * delta * (delta * a) / st;
        tx = 0.5 * delta * (delta * g) / st;
        ty = 0.5 * delta * (delta * g) / (t * st);
    }
    double s0 = 0.0, s1 = 0.0, s2 = 0.0;
    for (int i = 0; i < nint; ++i) {
        double const u = delta + i * h, u2 = u * u;
        double const t = A2 + (1.0 - A2) * u2, st = sqrt(t);
        double const g = exp(-0.5 * u2 * (X2 + Y2 / t));
        double const wt = (i == 0 || i == nint - 1) ? 1.0 : ((i & 1) ? 4.0 : 2.0);
        s0 += wt * (g - 1.0) / (u * st);
        s1 += wt * u * g / st;
        s2 += wt * u * g / (t * st);
    }
    I[0] = 2.0 * A * X * (tx + s1 * h) / (3.0 * sx);
    I[1] = 2.0 * A * Y * (ty + s2 * h) / (3.0 * sy);
    I[2] = 2.0 * A * (tz + s0 * h) / 3.0;
}

#endif
