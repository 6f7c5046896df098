"""Runs a program with some system calls failing as a file system that
lacks them makes them fail (vfat has no hard links: link() says EPERM):

    deny_syscalls.py EPERM link,linkat [EINVAL renameat2 ...] -- PROG ARGS

A seccomp filter (libseccomp, Debian's libseccomp2, through ctypes)
answers each named call with that errno; every other call runs, and the
filter stays with the program across exec.  Exits 77 when the filter
cannot be loaded here."""

import ctypes
import errno
import os
import sys

SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_ACT_ERRNO = 0x00050000


def load(rules):
    lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32,
                                     ctypes.c_int, ctypes.c_uint]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    ctx = lib.seccomp_init(SCMP_ACT_ALLOW)
    if not ctx:
        return False
    for name, calls in zip(rules[::2], rules[1::2]):
        for call in calls.split(","):
            nr = lib.seccomp_syscall_resolve_name(call.encode())
            if lib.seccomp_rule_add(ctx, SCMP_ACT_ERRNO | getattr(errno, name),
                                    nr, 0) != 0:
                return False
    return lib.seccomp_load(ctx) == 0


def main(argv):
    sep = argv.index("--")
    try:
        ok = load(argv[1:sep])
    except OSError as e:
        print("deny_syscalls: %s" % e, file=sys.stderr)
        ok = False
    if not ok:
        sys.exit(77)
    os.execv(argv[sep + 1], argv[sep + 1:])


if __name__ == "__main__":
    main(sys.argv)
