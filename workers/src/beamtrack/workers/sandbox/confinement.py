"""The Linux mechanisms the hook sandbox is built from, called through ctypes: Landlock (file
access), seccomp through libseccomp (system calls), capabilities, no_new_privs.

Landlock: https://docs.kernel.org/userspace-api/landlock.html (ABI 1..7, struct layouts and
access bits as in ``include/uapi/linux/landlock.h``). libseccomp: seccomp_rule_add(3).
Everything here is one-way: once applied to a process it cannot be undone by that process.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import os
from collections.abc import Iterable

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long

# syscall numbers of landlock are the same on every architecture (asm-generic)
_NR_LANDLOCK_CREATE_RULESET = 444
_NR_LANDLOCK_ADD_RULE = 445
_NR_LANDLOCK_RESTRICT_SELF = 446
_LANDLOCK_CREATE_RULESET_VERSION = 1
_LANDLOCK_RULE_PATH_BENEATH = 1

# access rights for files and directories (bit, first ABI with it)
FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
FS_REMOVE_DIR = 1 << 4
FS_REMOVE_FILE = 1 << 5
FS_MAKE_CHAR = 1 << 6
FS_MAKE_DIR = 1 << 7
FS_MAKE_REG = 1 << 8
FS_MAKE_SOCK = 1 << 9
FS_MAKE_FIFO = 1 << 10
FS_MAKE_BLOCK = 1 << 11
FS_MAKE_SYM = 1 << 12
FS_REFER = 1 << 13  # ABI 2
FS_TRUNCATE = 1 << 14  # ABI 3
FS_IOCTL_DEV = 1 << 15  # ABI 5
NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1  # ABI 4
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1  # ABI 6

#: rights that apply to a regular file (a rule on a file may only grant these)
FILE_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV
READ_RIGHTS = FS_READ_FILE | FS_READ_DIR


def _fs_rights(abi: int) -> int:
    rights = (1 << 13) - 1
    if abi >= 2:
        rights |= FS_REFER
    if abi >= 3:
        rights |= FS_TRUNCATE
    if abi >= 5:
        rights |= FS_IOCTL_DEV
    return rights


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class SandboxSetupError(OSError):
    """The host cannot build the sandbox (kernel without Landlock, no libseccomp, ...)."""


def _check(ret: int, what: str) -> int:
    if ret < 0:
        err = ctypes.get_errno()
        raise SandboxSetupError(err, f"{what}: {os.strerror(err)}")
    return ret


def landlock_abi() -> int:
    """The kernel's Landlock ABI version; 0 when Landlock is not built in or disabled."""
    ret = _libc.syscall(
        _NR_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_LANDLOCK_CREATE_RULESET_VERSION)
    )
    return int(ret) if ret > 0 else 0


def set_no_new_privs() -> None:
    """prctl(PR_SET_NO_NEW_PRIVS): nothing this process runs may gain privileges."""
    _check(_libc.prctl(38, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_capabilities() -> None:
    """Empty the bounding, ambient, effective, permitted and inheritable capability sets, so a
    process running as root keeps its uid but none of root's privileges (it cannot raise its
    rlimits, read other users' files, or bypass permission checks)."""
    cap = 0
    while _libc.prctl(24, cap, 0, 0, 0) == 0:  # PR_CAPBSET_DROP until EINVAL past the last cap
        cap += 1
    if ctypes.get_errno() not in (0, errno.EINVAL, errno.EPERM):
        _check(-1, "prctl(PR_CAPBSET_DROP)")
    _libc.prctl(47, 4, 0, 0, 0)  # PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL (absent before 4.3)
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")


def landlock_restrict(read_paths: Iterable[str], write_paths: Iterable[str]) -> int:
    """Restrict this process (and any it could start) to reading ``read_paths`` and reading
    and writing ``write_paths`` (each a directory tree or a single file). On ABI >= 4 every TCP
    bind/connect is denied too; on ABI >= 6 signals to processes outside the sandbox and
    connections to abstract unix sockets are. Returns the ABI used."""
    abi = landlock_abi()
    if abi < 1:
        raise SandboxSetupError(errno.EOPNOTSUPP, "Landlock is not available in this kernel")
    fs = _fs_rights(abi)
    attr = _RulesetAttr(
        fs,
        NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0,
        SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0,
    )
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    rfd = _check(
        _libc.syscall(_NR_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)),
        "landlock_create_ruleset",
    )
    try:
        for paths, rights in ((read_paths, READ_RIGHTS), (write_paths, fs)):
            for path in paths:
                try:
                    pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                except FileNotFoundError:
                    continue
                try:
                    allowed = rights
                    if not os.path.isdir(path):
                        allowed &= FILE_RIGHTS
                    rule = _PathBeneathAttr(allowed, pfd)
                    _check(
                        _libc.syscall(
                            _NR_LANDLOCK_ADD_RULE,
                            ctypes.c_int(rfd),
                            ctypes.c_int(_LANDLOCK_RULE_PATH_BENEATH),
                            ctypes.byref(rule),
                            ctypes.c_uint32(0),
                        ),
                        f"landlock_add_rule({path})",
                    )
                finally:
                    os.close(pfd)
        _check(
            _libc.syscall(_NR_LANDLOCK_RESTRICT_SELF, ctypes.c_int(rfd), ctypes.c_uint32(0)), "landlock_restrict_self"
        )
    finally:
        os.close(rfd)
    return abi


# --- seccomp (libseccomp) -----------------------------------------------------------------------
_SCMP_ACT_ALLOW = 0x7FFF0000
_SCMP_CMP_NE = 1
_SCMP_CMP_EQ = 4
_SCMP_CMP_MASKED_EQ = 7
_CLONE_THREAD = 0x00010000


def _scmp_act_errno(err: int) -> int:
    return 0x00050000 | (err & 0xFFFF)


class _ArgCmp(ctypes.Structure):
    _fields_ = [
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("datum_a", ctypes.c_uint64),
        ("datum_b", ctypes.c_uint64),
    ]


#: Denied outright (EPERM): new sockets (the channel to the parent is opened before the filter),
#: new programs, tracing or touching other processes, raising limits, namespaces and mounts,
#: kernel modules and other administration, io_uring (it would run I/O outside this filter),
#: handle-based opens (they bypass path checks).
DENIED_SYSCALLS = (
    "socket",
    "socketpair",
    "connect",
    "bind",
    "listen",
    "accept",
    "accept4",
    "fork",
    "vfork",
    "execve",
    "execveat",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "process_madvise",
    "kcmp",
    "pidfd_open",
    "pidfd_getfd",
    "pidfd_send_signal",
    "rt_sigqueueinfo",
    "rt_tgsigqueueinfo",
    "setrlimit",
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsmount",
    "fsconfig",
    "fspick",
    "mount_setattr",
    "reboot",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "keyctl",
    "add_key",
    "request_key",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "open_by_handle_at",
    "name_to_handle_at",
    "swapon",
    "swapoff",
    "syslog",
    "acct",
    "quotactl",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "sethostname",
    "setdomainname",
    "iopl",
    "ioperm",
    "mknod",
    "mknodat",
    "setuid",
    "setgid",
    "setreuid",
    "setregid",
    "setresuid",
    "setresgid",
    "setgroups",
    "setfsuid",
    "setfsgid",
    "capset",
    "memfd_secret",
    "uselib",
    "vhangup",
    # file metadata: Landlock (ABI <= 7) does not cover mode, owner, times or extended
    # attributes, so these would change any file the sandbox can name, scratch or not
    "chmod",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "chown",
    "fchown",
    "lchown",
    "fchownat",
    "utime",
    "utimes",
    "utimensat",
    "futimesat",
    "setxattr",
    "lsetxattr",
    "fsetxattr",
    "setxattrat",
    "removexattr",
    "lremovexattr",
    "fremovexattr",
    "removexattrat",
    # watching paths shows other jobs' files appear (Landlock does not cover these either)
    "inotify_init",
    "inotify_init1",
    "inotify_add_watch",
    "fanotify_init",
    "fanotify_mark",
    # memfd pages are not counted by RLIMIT_AS: the host needs none after start-up
    "memfd_create",
    # only the worker passes descriptors (the host's replies go out with send/sendto)
    "sendmsg",
    "sendmmsg",
    "personality",
    "lookup_dcookie",
    "process_mrelease",
    "quotactl_fd",
)

#: fcntl commands refused (EPERM): signal-driven I/O towards another process, leases, dnotify.
DENIED_FCNTL = (8, 10, 15, 1024, 1026)  # F_SETOWN, F_SETSIG, F_SETOWN_EX, F_SETLEASE, F_NOTIFY

#: System calls refused (EPERM) unless their first argument is 0 (this process/thread):
#: scheduling, affinity and memory placement of other processes.
SELF_ONLY_SYSCALLS = (
    "sched_setaffinity",
    "sched_setscheduler",
    "sched_setparam",
    "sched_setattr",
    "migrate_pages",
    "move_pages",
)


@functools.cache
def _libseccomp() -> ctypes.CDLL:
    """libseccomp, loaded once (the sandbox loads it before Landlock hides the system libraries)."""
    try:
        lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    except OSError:
        name = ctypes.util.find_library("seccomp")
        if name is None:
            raise SandboxSetupError(errno.ENOENT, "libseccomp (libseccomp.so.2) not found") from None
        lib = ctypes.CDLL(name, use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_rule_add_array.argtypes = [
        ctypes.c_void_p,
        ctypes.c_uint32,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.POINTER(_ArgCmp),
    ]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    return lib


def seccomp_available() -> str | None:
    """None when a seccomp filter can be built here, else the reason it cannot."""
    try:
        _libseccomp()
    except SandboxSetupError as exc:
        return str(exc.strerror)
    try:
        with open("/proc/self/status") as fh:
            if not any(line.startswith("Seccomp:") for line in fh):
                return "the kernel has no seccomp support"
    except OSError as exc:
        return f"cannot read /proc/self/status: {exc}"
    return None


def seccomp_restrict() -> None:
    """Load the filter: DENIED_SYSCALLS fail with EPERM; clone3 fails with ENOSYS (its flags
    live in memory a filter cannot read, and glibc then falls back to clone); clone without
    CLONE_THREAD (a new process), kill/tkill/tgkill of any other process, prlimit64 that sets a
    limit, fcntl with a DENIED_FCNTL command, and SELF_ONLY_SYSCALLS / setpriority / ioprio_set
    aimed at another process fail with EPERM. Everything else is allowed: Python and NumPy need
    a wide set."""
    lib = _libseccomp()
    ctx = lib.seccomp_init(_SCMP_ACT_ALLOW)
    if not ctx:
        raise SandboxSetupError(errno.ENOMEM, "seccomp_init failed")
    eperm = _scmp_act_errno(errno.EPERM)
    pid = os.getpid()

    def rule(action: int, name: str, *cmps: tuple[int, int, int, int]) -> None:
        nr = lib.seccomp_syscall_resolve_name(name.encode())
        if nr < 0:
            return  # not a system call on this architecture
        arr = (_ArgCmp * max(1, len(cmps)))(*[_ArgCmp(*c) for c in cmps])
        ret = lib.seccomp_rule_add_array(ctx, action, nr, len(cmps), arr)
        if ret < 0:
            raise SandboxSetupError(-ret, f"seccomp_rule_add({name}): {os.strerror(-ret)}")

    try:
        for name in DENIED_SYSCALLS:
            rule(eperm, name)
        rule(_scmp_act_errno(errno.ENOSYS), "clone3")
        rule(eperm, "clone", (0, _SCMP_CMP_MASKED_EQ, _CLONE_THREAD, 0))
        for name in ("kill", "tkill"):
            rule(eperm, name, (0, _SCMP_CMP_NE, pid, 0))
        rule(eperm, "tgkill", (0, _SCMP_CMP_NE, pid, 0))
        rule(eperm, "prlimit64", (2, _SCMP_CMP_NE, 0, 0))
        for cmd in DENIED_FCNTL:
            rule(eperm, "fcntl", (1, _SCMP_CMP_EQ, cmd, 0))
        for name in SELF_ONLY_SYSCALLS:
            rule(eperm, name, (0, _SCMP_CMP_NE, 0, 0))
        # setpriority / ioprio_set: only PRIO_PROCESS / IOPRIO_WHO_PROCESS of this process
        rule(eperm, "setpriority", (0, _SCMP_CMP_NE, 0, 0))
        rule(eperm, "setpriority", (1, _SCMP_CMP_NE, 0, 0))
        rule(eperm, "ioprio_set", (0, _SCMP_CMP_NE, 1, 0))
        rule(eperm, "ioprio_set", (1, _SCMP_CMP_NE, 0, 0))
        ret = lib.seccomp_load(ctx)
        if ret < 0:
            raise SandboxSetupError(-ret, f"seccomp_load: {os.strerror(-ret)}")
    finally:
        lib.seccomp_release(ctx)
