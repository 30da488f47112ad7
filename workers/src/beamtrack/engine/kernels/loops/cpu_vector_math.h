/* SIMD variants of libm functions for the CPU kernels' chunk loops.
 *
 * glibc >= 2.35 ships them in libmvec (linked through libm.so's AS_NEEDED); declaring them lets the
 * chunk loops of elements that call them (ChrQuad, bends, ...) vectorise instead of calling the
 * scalar function per particle. libmvec's documented accuracy is 4 ulp. BT_NO_VECTOR_MATH turns
 * them off.
 */
#ifndef BEAMTRACK_CPU_VECTOR_MATH_H
#define BEAMTRACK_CPU_VECTOR_MATH_H

#if defined(__x86_64__) && defined(__GLIBC__) && defined(__GLIBC_PREREQ) && !defined(BT_NO_VECTOR_MATH)
#if __GLIBC_PREREQ(2, 35)
#pragma omp declare simd notinbranch
double sin(double);
#pragma omp declare simd notinbranch
double cos(double);
#pragma omp declare simd notinbranch
double tan(double);
#pragma omp declare simd notinbranch
double sinh(double);
#pragma omp declare simd notinbranch
double cosh(double);
#pragma omp declare simd notinbranch
double exp(double);
#pragma omp declare simd notinbranch
double log(double);
#pragma omp declare simd notinbranch
double asin(double);
#pragma omp declare simd notinbranch
double atan2(double, double);
#pragma omp declare simd notinbranch
double hypot(double, double);
#endif
#endif

#endif
