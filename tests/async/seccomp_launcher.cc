// seccomp_launcher EPERM|ENOSYS PROGRAM [ARGS...]
//
// Runs PROGRAM with io_uring_setup, io_uring_enter and io_uring_register
// failing with the chosen errno, the way a container runtime's seccomp
// profile (EPERM) or a kernel without io_uring (ENOSYS) makes them fail.
// PROGRAM sees HALIO_EXPECT_URING_BLOCKED=EPERM|ENOSYS so it knows what to
// expect. Exits 77 (the skip code meson and automake understand) when this
// machine cannot install the filter, 2 on bad usage, and 1 when the filter
// was installed but does not take effect.
//
// A raw classic-BPF filter instead of libseccomp keeps the test free of an
// extra dependency; the filter is a handful of instructions.
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

// Headers older than io_uring lack the numbers. They are 425-427 on every
// architecture NativeAuditArch below knows (new syscalls share one table).
#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#define __NR_io_uring_enter 426
#define __NR_io_uring_register 427
#endif

namespace {

constexpr int kSkip = 77;

// The audit architecture of the ABI this program is compiled for: seccomp
// hands the filter syscall numbers of the caller's ABI, so the filter must
// only match numbers of the ABI it was written for. 0 when unknown.
constexpr unsigned NativeAuditArch() {
#if defined(__x86_64__)
  return AUDIT_ARCH_X86_64;  // x32 also reports X86_64, with its own numbers
#elif defined(__i386__)
  return AUDIT_ARCH_I386;
#elif defined(__aarch64__) && defined(__AARCH64EL__)
  return AUDIT_ARCH_AARCH64;
#elif defined(__riscv) && __riscv_xlen == 64
  return AUDIT_ARCH_RISCV64;
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return AUDIT_ARCH_PPC64LE;
#elif defined(__s390x__)
  return AUDIT_ARCH_S390X;
#else
  return 0;
#endif
}

// Fails the io_uring syscalls with `error_number` and allows everything else,
// including every syscall of a foreign ABI (the program under test uses only
// the native one).
int InstallFilter(unsigned arch, int error_number) {
  const unsigned fail =
      SECCOMP_RET_ERRNO | (static_cast<unsigned>(error_number) & SECCOMP_RET_DATA);
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arch, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 3, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_enter, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_register, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, fail),
  };
  struct sock_fprog program = {static_cast<unsigned short>(sizeof(filter) / sizeof(filter[0])),
                               filter};
  // Without no_new_privs an unprivileged process may not install a filter.
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) return errno;
  return 0;
}

// Proves the filter works before trusting a test run that depends on it: a
// filter that silently did nothing would make every fallback test vacuous.
bool FilterTookEffect(int error_number) {
  long rc = syscall(__NR_io_uring_setup, 0, nullptr);
  return rc == -1 && errno == error_number;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || (strcmp(argv[1], "EPERM") != 0 && strcmp(argv[1], "ENOSYS") != 0)) {
    fprintf(stderr, "usage: seccomp_launcher EPERM|ENOSYS PROGRAM [ARGS...]\n");
    return 2;
  }
  const int error_number = strcmp(argv[1], "EPERM") == 0 ? EPERM : ENOSYS;
  constexpr unsigned arch = NativeAuditArch();
  if (arch == 0) {
    fprintf(stderr, "seccomp_launcher: skipped: no seccomp audit architecture is known for "
                    "this CPU; add it to NativeAuditArch\n");
    return kSkip;
  }
  if (int rc = InstallFilter(arch, error_number); rc != 0) {
    fprintf(stderr, "seccomp_launcher: skipped: cannot install a seccomp filter: %s%s\n",
            strerror(rc),
            rc == EINVAL ? " (kernel built without CONFIG_SECCOMP_FILTER?)" : "");
    return kSkip;
  }
  if (!FilterTookEffect(error_number)) {
    fprintf(stderr, "seccomp_launcher: the filter is installed but io_uring_setup did not "
                    "fail with %s\n", argv[1]);
    return 1;
  }
  if (setenv("HALIO_EXPECT_URING_BLOCKED", argv[1], 1) != 0) {
    perror("seccomp_launcher: setenv");
    return 1;
  }
  execvp(argv[2], argv + 2);
  fprintf(stderr, "seccomp_launcher: cannot run %s: %s\n", argv[2], strerror(errno));
  return 1;
}
