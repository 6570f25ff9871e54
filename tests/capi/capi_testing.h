/* A minimal test harness for the C ABI tests (C11, no dependencies): CHECK
 * records a failure and goes on; the *_STATUS macros check a
 * halio_status_t's code and message and free it. main() runs the TESTs and
 * exits 1 when anything failed. */
#ifndef HALIO_TESTS_CAPI_CAPI_TESTING_H_
#define HALIO_TESTS_CAPI_CAPI_TESTING_H_

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(_WIN32)
#include <direct.h>
#include <io.h>
#else
#include <unistd.h>
#endif

#include "halio/halio.h"

/* Makes a fresh scratch directory `<TMPDIR or TEMP or /tmp>/<prefix>XXXXXX`
 * into `dir`. Returns 0 on success, printing the failure otherwise. */
static int capi_make_scratch_dir(char* dir, size_t size, const char* prefix) {
#if defined(_WIN32)
  const char* tmp = getenv("TEMP");
#else
  const char* tmp = getenv("TMPDIR");
#endif
  snprintf(dir, size, "%s/%sXXXXXX", tmp != NULL && tmp[0] != 0 ? tmp : "/tmp", prefix);
#if defined(_WIN32)
  if (_mktemp_s(dir, strlen(dir) + 1) != 0 || _mkdir(dir) != 0) {
#else
  if (mkdtemp(dir) == NULL) {
#endif
    perror(dir);
    return -1;
  }
  return 0;
}

/* Removes `dir` and what is in it (rm -rf; rmdir /s on Windows). */
static void capi_remove_scratch_dir(const char* dir) {
  char command[600];
#if defined(_WIN32)
  snprintf(command, sizeof(command), "rmdir /s /q \"%s\"", dir);
#else
  snprintf(command, sizeof(command), "rm -rf '%s'", dir);
#endif
  if (system(command) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

static int capi_failures = 0;
static const char* capi_current_test = "";

#define CHECK(cond)                                                                 \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      ++capi_failures;                                                              \
      fprintf(stderr, "%s:%d: [%s] CHECK failed: %s\n", __FILE__, __LINE__,         \
              capi_current_test, #cond);                                            \
    }                                                                               \
  } while (0)

/* Checks that `expr` returned OK (printing the status otherwise), frees it. */
#define CHECK_OK(expr)                                                              \
  do {                                                                              \
    halio_status_t check_status_ = (expr);                                          \
    if (check_status_ != NULL) {                                                    \
      ++capi_failures;                                                              \
      fprintf(stderr, "%s:%d: [%s] %s failed: %s: %s\n", __FILE__, __LINE__,        \
              capi_current_test, #expr,                                             \
              halio_status_code_name(halio_status_code(check_status_)),             \
              halio_status_message(check_status_));                                 \
      halio_status_free(check_status_);                                             \
    }                                                                               \
  } while (0)

/* Checks `expr`'s code and that its message contains `needle` (NULL: any). */
#define CHECK_STATUS(expr, want_code, needle)                                       \
  capi_check_status((expr), (want_code), (needle), #expr, __FILE__, __LINE__)

static inline void capi_check_status(halio_status_t status, halio_status_code_t want,
                              const char* needle, const char* expr, const char* file,
                              int line) {
  const halio_status_code_t code = halio_status_code(status);
  const char* message = halio_status_message(status);
  if (code != want || (needle != NULL && strstr(message, needle) == NULL)) {
    ++capi_failures;
    fprintf(stderr, "%s:%d: [%s] %s: got %s \"%s\", want %s containing \"%s\"\n", file,
            line, capi_current_test, expr, halio_status_code_name(code), message,
            halio_status_code_name(want), needle != NULL ? needle : "");
  }
  halio_status_free(status);
}

#define RUN_TEST(fn)                                          \
  do {                                                        \
    capi_current_test = #fn;                                  \
    const int before_ = capi_failures;                        \
    fn();                                                     \
    printf("%s %s\n", capi_failures == before_ ? "ok  " : "FAIL", #fn); \
  } while (0)

/* Writes `length` bytes of pattern_byte(i) to `path`. */
static inline unsigned char pattern_byte(uint64_t i) {
  return (unsigned char)((i * 2654435761u) >> 13);
}

static inline int write_pattern_file(const char* path, uint64_t length) {
  FILE* f = fopen(path, "wb");
  if (f == NULL) return 0;
  unsigned char block[4096];
  for (uint64_t done = 0; done < length;) {
    size_t n = length - done < sizeof(block) ? (size_t)(length - done) : sizeof(block);
    for (size_t i = 0; i < n; ++i) block[i] = pattern_byte(done + i);
    if (fwrite(block, 1, n, f) != n) {
      fclose(f);
      return 0;
    }
    done += n;
  }
  return fclose(f) == 0;
}

/* The index of the first byte of data[0, length) that is not
 * pattern_byte(offset + i), or length when all are. */
static inline size_t first_wrong_byte(const unsigned char* data, size_t length, uint64_t offset) {
  for (size_t i = 0; i < length; ++i) {
    if (data[i] != pattern_byte(offset + i)) return i;
  }
  return length;
}

#endif /* HALIO_TESTS_CAPI_CAPI_TESTING_H_ */
