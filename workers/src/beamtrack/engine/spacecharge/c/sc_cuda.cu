/* Space-charge kernels for CUDA (CuPy RawModule / NVRTC, or nvcc): one thread per particle or node;
 * deposition with double-precision atomicAdd (sm_60+). Same per-particle code as the CPU build. */
#include "beamtrack/engine/spacecharge/c/sc_common.h"

#define SC_TID (blockIdx.x * (long long)blockDim.x + threadIdx.x)

extern "C" __global__ void sc_to_fixed_t_k(double* real, long long cap, long long n, const int* state, double ptd)
{
    long long const i = SC_TID;
    if (i >= n || state[i]) return;
    sc_to_fixed_t(ptd, &real[i], &real[cap + i], &real[2 * cap + i], &real[3 * cap + i], &real[4 * cap + i],
                  &real[5 * cap + i]);
}

extern "C" __global__ void sc_to_fixed_s_k(double* real, long long cap, long long n, const int* state, double pzd)
{
    long long const i = SC_TID;
    if (i >= n || state[i]) return;
    sc_to_fixed_s(pzd, &real[i], &real[cap + i], &real[2 * cap + i], &real[3 * cap + i], &real[4 * cap + i],
                  &real[5 * cap + i]);
}

extern "C" __global__ void sc_deposit3d_k(const double* real, long long cap, long long n, const int* state,
                                          int has_w, double wscale, int order, const double* lo, const double* inv_d,
                                          long long n0, long long n1, long long n2, double* rho)
{
    long long const i = SC_TID;
    if (i >= n || state[i]) return;
    double const q = wscale * (has_w ? real[6 * cap + i] : 1.0);
    sc_deposit3d_one(order, rho, n0, n1, n2, lo, inv_d, real[i], real[cap + i], real[2 * cap + i], q);
}

extern "C" __global__ void sc_deposit2d_k(const double* real, long long cap, long long n, const int* state,
                                          int has_w, double wscale, int order, const double* lo, const double* inv_d,
                                          long long n0, long long n1, double* rho)
{
    long long const i = SC_TID;
    if (i >= n || state[i]) return;
    double const q = wscale * (has_w ? real[6 * cap + i] : 1.0);
    sc_deposit2d_one(order, rho, n0, n1, lo, inv_d, real[i], real[cap + i], q);
}

extern "C" __global__ void sc_deposit_line_k(const double* real, long long cap, long long n, const int* state,
                                             int has_w, double wscale, double bin_min, double bin_size, long long nb,
                                             double* out)
{
    long long const i = SC_TID;
    if (i >= n || state[i]) return;
    long long const b = (long long)floor((real[2 * cap + i] - bin_min) / bin_size);
    if (b < 0 || b >= nb) return;
    atomicAdd(&out[b], wscale * (has_w ? real[6 * cap + i] : 1.0) / bin_size);
}

extern "C" __global__ void sc_grad3d_k(const double* phi, long long n0, long long n1, long long n2, double h0,
                                       double h1, double h2, double* ex, double* ey, double* ez)
{
    long long const g = SC_TID;
    if (g >= n0 * n1 * n2) return;
    long long const k = g % n2, j = (g / n2) % n1, i = g / (n1 * n2);
    if (i == 0 || i == n0 - 1 || j == 0 || j == n1 - 1 || k == 0 || k == n2 - 1) {
        ex[g] = ey[g] = ez[g] = 0.0;
        return;
    }
    ex[g] = h0 * (phi[g - n1 * n2] - phi[g + n1 * n2]);
    ey[g] = h1 * (phi[g - n2] - phi[g + n2]);
    ez[g] = h2 * (phi[g - 1] - phi[g + 1]);
}

extern "C" __global__ void sc_grad2d_k(const double* phi, long long n0, long long n1, double h0, double h1,
                                       double* ex, double* ey)
{
    long long const g = SC_TID;
    if (g >= n0 * n1) return;
    long long const j = g % n1, i = g / n1;
    if (i == 0 || i == n0 - 1 || j == 0 || j == n1 - 1) {
        ex[g] = ey[g] = 0.0;
        return;
    }
    ex[g] = h0 * (phi[g - n1] - phi[g + n1]);
    ey[g] = h1 * (phi[g - 1] - phi[g + 1]);
}

extern "C" __global__ void sc_gather_push3d_k(double* real, long long cap, long long n, const int* state, int order,
                                              const double* lo, const double* inv_d, long long n0, long long n1,
                                              long long n2, const double* ex, const double* ey, const double* ez,
                                              double kick, int fixed_t, double pzd, int has_eout, double* eout)
{
    long long const i = SC_TID;
    if (i >= n || state[i]) return;
    double e[3];
    sc_gather3d_one(order, ex, ey, ez, n0, n1, n2, lo, inv_d, real[i], real[cap + i], real[2 * cap + i], e);
    sc_push_one(real, cap, n, i, e, kick, kick, fixed_t, pzd, has_eout ? eout : (double*)0);
}

extern "C" __global__ void sc_gather_push2d_k(double* real, long long cap, long long n, const int* state, int order,
                                              const double* lo, const double* inv_d, long long n0, long long n1,
                                              const double* ex, const double* ey, const double* phi, double kxy,
                                              double kt, int has_prof, const double* prof, const double* slope,
                                              double bin_min, double bin_size, long long nb, int has_eout, double* eout)
{
    long long const i = SC_TID;
    if (i >= n || state[i]) return;
    double e[3];
    sc_gather2d_one(order, ex, ey, has_prof ? phi : (const double*)0, n0, n1, lo, inv_d, real[i], real[cap + i], e);
    long long const b = has_prof ? sc_bin(real[2 * cap + i], bin_min, bin_size, nb) : 0;
    double const fxy = has_prof ? prof[b] : 1.0, fz = has_prof ? slope[b] : 0.0;
    sc_push_one(real, cap, n, i, e, kxy * fxy, -(kt * fz), 0, 0.0, has_eout ? eout : (double*)0);
}

extern "C" __global__ void sc_igf3d_corners_k(long long n0, long long n1, long long n2, double dx, double dy,
                                              double dz, double* P)
{
    long long const g = SC_TID;
    long long const m0 = n0 + 1, m1 = n1 + 1, m2 = n2 + 1;
    if (g >= m0 * m1 * m2) return;
    long long const k = g % m2, j = (g / m2) % m1, i = g / (m1 * m2);
    P[g] = sc_igf3d_corner((i - 0.5) * dx, (j - 0.5) * dy, (k - 0.5) * dz);
}

extern "C" __global__ void sc_igf3d_diff_k(long long n0, long long n1, long long n2, double factor, const double* P,
                                           double* G)
{
    long long const g = SC_TID;
    if (g >= n0 * n1 * n2) return;
    long long const m1 = n1 + 1, m2 = n2 + 1;
    long long const k = g % n2, j = (g / n2) % n1, i = g / (n1 * n2);
#define SC_P(a, b, c) P[((i + (a)) * m1 + (j + (b))) * m2 + (k + (c))]
    G[g] = factor * (SC_P(1, 1, 1) - SC_P(0, 1, 1) - SC_P(1, 0, 1) + SC_P(0, 0, 1) - SC_P(1, 1, 0) + SC_P(0, 1, 0)
                     + SC_P(1, 0, 0) - SC_P(0, 0, 0));
#undef SC_P
}

extern "C" __global__ void sc_igf2d_k(long long n0, long long n1, double dx, double dy, double factor, double* G)
{
    long long const g = SC_TID;
    if (g >= n0 * n1) return;
    long long const j = g % n1, i = g / n1;
    double const x0 = (i - 0.5) * dx, x1 = (i + 0.5) * dx, y0 = (j - 0.5) * dy, y1 = (j + 0.5) * dy;
    G[g] = factor * (sc_igf2d_corner(x1, y1) - sc_igf2d_corner(x1, y0) - sc_igf2d_corner(x0, y1)
                     + sc_igf2d_corner(x0, y0));
}

/* ImpactX Gauss3dPush (see sc_gauss3d_push in sc_cpu.c); sig and scale hold 3 doubles each. */
extern "C" __global__ void sc_gauss3d_push_k(double* real, long long cap, long long n, const int* state, int nint,
                                             const double* sig, double gamma, const double* scale, double kick,
                                             int fixed_t, double pzd, int has_eout, double* eout)
{
    long long const i = SC_TID;
    if (i >= n || state[i]) return;
    double I[3];
    double const x = real[i], y = real[cap + i], z = real[2 * cap + i];
    sc_gauss3d_integrals(nint, x, y, z, sig[0], sig[1], sig[2], gamma, I);
    double const e[3] = {scale[0] * x * I[0], scale[1] * y * I[1], scale[2] * z * I[2]};
    sc_push_one(real, cap, n, i, e, kick, kick, fixed_t, pzd, has_eout ? eout : (double*)0);
}

/* ImpactX Gauss2p5dPush (see sc_gauss2p5d_push in sc_cpu.c). */
extern "C" __global__ void sc_gauss2p5d_push_k(double* real, long long cap, long long n, const int* state, int nint,
                                               double delta, double sigx, double sigy, const double* prof,
                                               const double* slope, double bin_min, double bin_size, long long nb,
                                               double lam_scale, double slope_scale, double pz_const, double kick,
                                               int fixed_t, double pzd, int has_eout, double* eout)
{
    long long const i = SC_TID;
    if (i >= n || state[i]) return;
    double I[3];
    sc_gauss2d_integrals(delta, nint, real[i], real[cap + i], sigx, sigy, I);
    long long const b = sc_bin(real[2 * cap + i], bin_min, bin_size, nb);
    double const fxy = lam_scale * prof[b], fz = slope_scale * slope[b];
    double const e[3] = {fxy * I[0], fxy * I[1], fz * (I[2] + pz_const)};
    sc_push_one(real, cap, n, i, e, kick, -kick, fixed_t, pzd, has_eout ? eout : (double*)0);
}
