"""Kernel build, cache, selection and launch: one C source per element, compiled per kind."""
