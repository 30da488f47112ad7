/* beamtrack kernel ABI: the per-particle state, the element-slice record (op), and backend macros.
 *
 * Every element map lives in a header under beamtrack/engine/elements/c/ (or a plugin's package)
 * defining, for an element class NAME:
 *   BT_FN void NAME_setup(bt_op* op, const double* aux);          once per pass: op->p, op->ref -> op->c
 *   BT_FN void NAME_push(const bt_op* op, const double* aux, bt_part* p);   one slice, one particle
 * An element's parameters are read through accessors NAME_<param>(op) (Quad_k(op) is op->p[0]), which the
 * generated kernel source defines from the names in the element class's KernelClass.params (the Python
 * element definitions, beamtrack.engine.kernels.codegen), never by slot number in a header.
 * Coordinates and units are ImpactX's: x, y, t [m] (t = c * arrival-time difference), px, py, pt [1]
 * (normalised by the reference momentum; pt = -dE / (p0 c)), relative to the reference particle.
 * The same headers compile for the CPU (serial, OpenMP) and, through CuPy/NVRTC, for CUDA.
 */
#ifndef BEAMTRACK_BT_COMMON_H
#define BEAMTRACK_BT_COMMON_H

#if defined(__CUDACC_RTC__)
/* NVRTC (CuPy RawModule): no libc headers; math functions are built in */
typedef int int32_t;
typedef long long int64_t;
#define BT_FN __device__ static inline
#elif defined(__CUDACC__)
/* nvcc */
#include <stdint.h>
#define BT_FN __device__ static inline
#else
#include <math.h>
#include <stdint.h>
#define BT_FN static inline
#endif

#define BT_NPARAM 16  /* element parameters, set from Python */
#define BT_NCOEF 40   /* per-slice coefficients, computed by NAME_setup */

/* flags */
#define BT_MISALIGNED 1  /* dx, dy, rotation != 0 */
#define BT_APERTURE 2    /* elliptical aperture_x/aperture_y checked after the slice */

/* One element slice (repeated nslice times). Mirrors OP_DTYPE in beamtrack/engine/kernels/ops.py. */
typedef struct {
    int32_t kind;      /* index of the element class in this kernel */
    int32_t nslice;    /* how many times the slice map is applied */
    int32_t flags;     /* BT_MISALIGNED | BT_APERTURE */
    int32_t index;     /* position of the element in the line (loss bookkeeping), >= 0 */
    int64_t aux_offset;/* start of this element's variable-length data in aux */
    int64_t aux_len;
    double ds;         /* slice length [m] */
    double s_exit;     /* s of the reference at the exit of the element [m] (loss bookkeeping) */
    double dx, dy;     /* misalignment [m] */
    double cos_rot, sin_rot; /* roll about s */
    double aperture_x, aperture_y; /* elliptical aperture half-axes [m] */
    double beta, gamma, beta_gamma, pt_ref; /* reference particle in this slice (pt_ref = -gamma) */
    double p[BT_NPARAM];
    double c[BT_NCOEF];
} bt_op;

typedef struct {
    double x, y, t, px, py, pt;
    int32_t lost;
} bt_part;

/* Alignment (ImpactX's Alignment mixin): into the element frame and back. */
BT_FN void bt_shift_in(const bt_op* op, bt_part* p)
{
    double const rx = p->x - op->dx, ry = p->y - op->dy;
    double const c = op->cos_rot, s = op->sin_rot;
    double const px = p->px, py = p->py;
    p->x = rx * c + ry * s;
    p->y = -rx * s + ry * c;
    p->px = px * c + py * s;
    p->py = -px * s + py * c;
}

BT_FN void bt_shift_out(const bt_op* op, bt_part* p)
{
    double const c = op->cos_rot, s = op->sin_rot;
    double const x = p->x, y = p->y, px = p->px, py = p->py;
    p->x = x * c - y * s + op->dx;
    p->y = x * s + y * c + op->dy;
    p->px = px * c - py * s;
    p->py = px * s + py * c;
}

/* Elliptical aperture at the slice exit, in the element frame. */
BT_FN void bt_check_aperture(const bt_op* op, bt_part* p)
{
    double const u = p->x / op->aperture_x, v = p->y / op->aperture_y;
    if (u * u + v * v > 1.0) p->lost = 1;
}

#endif
