/* The C ABI (include/halio/halio.h) from C: every group of calls, with the
 * errors C callers rely on. Compiled as C11 with -Wall -Wextra -Werror
 * -pedantic against libhalio.
 *
 *   capi_test TESTDATA_DIR   (tests/io/testdata) */
#define _POSIX_C_SOURCE 200809L

#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capi_testing.h"
#include "halio/halio.h"

static const char* testdata_dir = "";
static char scratch_dir[256];

static void scratch_path(char* out, size_t size, const char* name) {
  snprintf(out, size, "%s/%s", scratch_dir, name);
}

static void fixture_path(char* out, size_t size, const char* name) {
  snprintf(out, size, "%s/%s", testdata_dir, name);
}

static const halio_semaphore_list_t kNoSemaphores = {0, NULL};

/* --- status ------------------------------------------------------------------ */

static void test_status(void) {
  CHECK(halio_status_code(NULL) == HALIO_STATUS_OK);
  CHECK(strcmp(halio_status_message(NULL), "") == 0);
  CHECK(halio_status_create(HALIO_STATUS_OK, "ignored") == NULL);
  halio_status_t status = halio_status_create(HALIO_STATUS_DATA_LOSS, "lost bytes");
  CHECK(halio_status_code(status) == HALIO_STATUS_DATA_LOSS);
  CHECK(strcmp(halio_status_message(status), "lost bytes") == 0);
  halio_status_free(status);
  CHECK(strcmp(halio_status_code_name(HALIO_STATUS_OUT_OF_RANGE), "OUT_OF_RANGE") == 0);
  CHECK(strcmp(halio_backend_name(HALIO_BACKEND_IO_URING), "io_uring") == 0);
  /* Freeing nothing does nothing, for every kind of handle. */
  halio_status_free(NULL);
  halio_file_free(NULL);
  halio_buffer_free(NULL);
  halio_mapping_unmap(NULL);
  halio_semaphore_free(NULL);
  halio_device_free(NULL);
  halio_index_free(NULL);
  halio_loaded_free(NULL);
}

/* --- files ------------------------------------------------------------------- */

static halio_file_t* open_pattern_file(const char* name, uint64_t length, halio_backend_t backend,
                                       int direct, halio_status_t* error) {
  char path[512];
  scratch_path(path, sizeof(path), name);
  if (!write_pattern_file(path, length)) {
    *error = halio_status_create(HALIO_STATUS_INTERNAL, "could not write the pattern file");
    return NULL;
  }
  halio_file_options_t options;
  halio_file_options_init(&options);
  options.backend = backend;
  options.direct = direct;
  halio_file_t* file = NULL;
  *error = halio_file_open(path, HALIO_OPEN_READ | HALIO_OPEN_WRITE, &options, &file);
  return file;
}

static int calls = 0;
static void count_call(void* user_data, halio_status_t status) {
  (void)user_data;
  ++calls;
  halio_status_free(status);
}

static void test_file_errors(void) {
  char missing[512];
  scratch_path(missing, sizeof(missing), "no_such_file.bin");
  halio_file_t* file = NULL;
  CHECK_STATUS(halio_file_open(missing, HALIO_OPEN_READ, NULL, &file), HALIO_STATUS_NOT_FOUND,
               missing);
  CHECK(file == NULL);
  CHECK_STATUS(halio_file_open(NULL, HALIO_OPEN_READ, NULL, &file),
               HALIO_STATUS_INVALID_ARGUMENT, "path is NULL");
  CHECK_STATUS(halio_file_open(missing, HALIO_OPEN_READ, NULL, NULL),
               HALIO_STATUS_INVALID_ARGUMENT, "out_file is NULL");
  CHECK_STATUS(halio_file_open(missing, 0, NULL, &file), HALIO_STATUS_INVALID_ARGUMENT, NULL);
  CHECK_STATUS(halio_file_open(missing, 1u << 9, NULL, &file), HALIO_STATUS_INVALID_ARGUMENT,
               "unknown mode bits");
  halio_file_options_t old_options;
  memset(&old_options, 0, sizeof(old_options));
  CHECK_STATUS(halio_file_open(missing, HALIO_OPEN_READ, &old_options, &file),
               HALIO_STATUS_INVALID_ARGUMENT, "struct_size");

  halio_status_t error = NULL;
  file = open_pattern_file("errors.bin", 4096, HALIO_BACKEND_AUTO, 0, &error);
  CHECK_OK(error);
  if (file == NULL) return;
  unsigned char bytes[64];
  /* The range and the file in the message, as C++'s File::Read says it. */
  CHECK_STATUS(halio_file_read(file, 4090, bytes, 16), HALIO_STATUS_OUT_OF_RANGE,
               "range [4090, 4106) is past the end of the file (4096 bytes)");
  CHECK_STATUS(halio_file_read(file, 4090, bytes, 16), HALIO_STATUS_OUT_OF_RANGE, "errors.bin");
  CHECK_STATUS(halio_file_read(file, 0, NULL, 16), HALIO_STATUS_INVALID_ARGUMENT,
               "data is NULL");
  CHECK_STATUS(halio_file_read(NULL, 0, bytes, 16), HALIO_STATUS_INVALID_ARGUMENT,
               "file is NULL");
  /* A bad asynchronous request returns its error and never calls back. */
  calls = 0;
  CHECK_STATUS(halio_file_read_async(file, 4000, bytes, 200, count_call, NULL),
               HALIO_STATUS_OUT_OF_RANGE, "[4000, 4200)");
  CHECK_STATUS(halio_file_read_async(file, 0, bytes, 16, NULL, NULL),
               HALIO_STATUS_INVALID_ARGUMENT, "callback is NULL");
  CHECK(calls == 0);
  halio_file_free(file);

  /* Read-only files refuse writes, naming the access they have. */
  char path[512];
  scratch_path(path, sizeof(path), "errors.bin");
  CHECK_OK(halio_file_open(path, HALIO_OPEN_READ, NULL, &file));
  CHECK(halio_file_access(file) == HALIO_ACCESS_READ);
  CHECK_STATUS(halio_file_write(file, 0, bytes, 8), HALIO_STATUS_PERMISSION_DENIED,
               "opened for read access only");
  CHECK_STATUS(halio_file_write_async(file, 0, bytes, 8, count_call, NULL),
               HALIO_STATUS_PERMISSION_DENIED, NULL);
  CHECK(calls == 0);
  halio_file_free(file);
  CHECK_STATUS(halio_file_from_fd(-1, HALIO_ACCESS_READ, NULL, &file),
               HALIO_STATUS_FAILED_PRECONDITION, NULL);
}

static void test_file_sync_io(void) {
  char path[512];
  scratch_path(path, sizeof(path), "sync.bin");
  halio_file_t* file = NULL;
  CHECK_OK(halio_file_open(path, HALIO_OPEN_READ | HALIO_OPEN_WRITE | HALIO_OPEN_CREATE |
                                     HALIO_OPEN_TRUNCATE, NULL, &file));
  if (file == NULL) return;
  CHECK(halio_file_length(file) == 0);
  CHECK(halio_file_access(file) == HALIO_ACCESS_READ_WRITE);
  CHECK(strstr(halio_file_description(file), "sync.bin") != NULL);
  const halio_backend_t backend = halio_file_backend(file);
  CHECK(backend == HALIO_BACKEND_IO_URING || backend == HALIO_BACKEND_ASIO ||
        backend == HALIO_BACKEND_SYNC);
  /* A reason exactly when the file fell back to synchronous I/O. */
  CHECK((backend == HALIO_BACKEND_SYNC) == (halio_file_backend_fallback_reason(file)[0] != 0));
  CHECK(halio_file_direct(file) == 0);

  unsigned char data[10000];
  for (size_t i = 0; i < sizeof(data); ++i) data[i] = pattern_byte(i);
  CHECK_OK(halio_file_write(file, 0, data, sizeof(data)));
  CHECK(halio_file_length(file) == sizeof(data));
  CHECK_OK(halio_file_flush(file, 1));
  unsigned char back[10000];
  memset(back, 0, sizeof(back));
  CHECK_OK(halio_file_read(file, 1, back + 1, sizeof(back) - 1));
  CHECK(first_wrong_byte(back + 1, sizeof(back) - 1, 1) == sizeof(back) - 1);
  halio_file_free(file);

  /* From a descriptor: halio keeps its own duplicate. */
  int fd = open(path, O_RDONLY);
  CHECK(fd >= 0);
  CHECK_OK(halio_file_from_fd(fd, HALIO_ACCESS_READ, NULL, &file));
  close(fd);
  memset(back, 0, sizeof(back));
  CHECK_OK(halio_file_read(file, 5000, back, 5000));
  CHECK(first_wrong_byte(back, 5000, 5000) == 5000);
#if defined(_WIN32)
  CHECK(strstr(halio_file_description(file), "handle ") != NULL);  /* its HANDLE's */
#else
  CHECK(strstr(halio_file_description(file), "fd ") != NULL);
#endif
  halio_file_free(file);
}

/* Async completions gathered under a mutex: count, first error. */
typedef struct {
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  int done;
  halio_status_t first_error;
} waiter_t;

static void waiter_init(waiter_t* w) {
  pthread_mutex_init(&w->mutex, NULL);
  pthread_cond_init(&w->cond, NULL);
  w->done = 0;
  w->first_error = NULL;
}

static void waiter_callback(void* user_data, halio_status_t status) {
  waiter_t* w = (waiter_t*)user_data;
  pthread_mutex_lock(&w->mutex);
  ++w->done;
  if (status != NULL && w->first_error == NULL) {
    w->first_error = status;
  } else {
    halio_status_free(status);
  }
  pthread_cond_broadcast(&w->cond);
  pthread_mutex_unlock(&w->mutex);
}

/* Waits for `count` completions; returns the first error (caller frees). */
static halio_status_t waiter_wait(waiter_t* w, int count) {
  pthread_mutex_lock(&w->mutex);
  while (w->done < count) pthread_cond_wait(&w->cond, &w->mutex);
  halio_status_t error = w->first_error;
  w->first_error = NULL;
  w->done = 0;
  pthread_mutex_unlock(&w->mutex);
  return error;
}

static void waiter_destroy(waiter_t* w) {
  pthread_mutex_destroy(&w->mutex);
  pthread_cond_destroy(&w->cond);
}

static void async_round_trip(halio_backend_t backend, int direct) {
  enum { kChunks = 64, kChunk = 16384, kLength = kChunks * kChunk };
  halio_status_t error = NULL;
  halio_file_t* file = open_pattern_file("async.bin", kLength, backend, direct, &error);
  if (halio_status_code(error) == HALIO_STATUS_UNAVAILABLE) {
    printf("     (%s unavailable here: %s)\n", halio_backend_name(backend),
           halio_status_message(error));
    halio_status_free(error);
    return;
  }
  CHECK_OK(error);
  if (file == NULL) return;
  if (backend != HALIO_BACKEND_AUTO) CHECK(halio_file_backend(file) == backend);
  unsigned char* memory = malloc(kLength + 1);
  waiter_t waiter;
  waiter_init(&waiter);
  /* Every chunk in flight at once, into memory one byte off alignment. */
  unsigned char* target = memory + 1;
  memset(memory, 0, kLength + 1);
  int submitted = 0;
  for (int i = 0; i < kChunks; ++i) {
    halio_status_t status = halio_file_read_async(file, (uint64_t)i * kChunk,
                                                  target + (size_t)i * kChunk, kChunk,
                                                  waiter_callback, &waiter);
    if (status == NULL) ++submitted;
    CHECK_OK(status);
  }
  CHECK_OK(waiter_wait(&waiter, submitted));
  CHECK(first_wrong_byte(target, kLength, 0) == kLength);

  /* Writes: new bytes at the end extend the file, then read back. */
  for (int i = 0; i < kChunk; ++i) target[i] = (unsigned char)(255 - pattern_byte(i));
  CHECK_OK(halio_file_write_async(file, kLength, target, kChunk, waiter_callback, &waiter));
  CHECK_OK(waiter_wait(&waiter, 1));
  CHECK(halio_file_length(file) == kLength + kChunk);
  unsigned char* back = malloc(kChunk);
  CHECK_OK(halio_file_read_async(file, kLength, back, kChunk, waiter_callback, &waiter));
  CHECK_OK(waiter_wait(&waiter, 1));
  CHECK(memcmp(back, target, kChunk) == 0);

  /* A file truncated underneath: the read's completion carries the error. */
  char path[512];
  scratch_path(path, sizeof(path), "async.bin");
  CHECK(truncate(path, kChunk) == 0);
  CHECK_OK(halio_file_read_async(file, 0, target, 2 * kChunk, waiter_callback, &waiter));
  CHECK_STATUS(waiter_wait(&waiter, 1), HALIO_STATUS_OUT_OF_RANGE, "async.bin");
  free(back);
  free(memory);
  waiter_destroy(&waiter);
  halio_file_free(file);
}

static void test_file_async_io(void) {
  const halio_backend_t backends[] = {HALIO_BACKEND_AUTO, HALIO_BACKEND_IO_URING,
                                      HALIO_BACKEND_ASIO, HALIO_BACKEND_SYNC};
  for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); ++i) {
    async_round_trip(backends[i], 0);
    async_round_trip(backends[i], 1);
  }
}

static int released = 0;
static void count_release(void* user_data, void* data, size_t length) {
  CHECK(user_data == &released);
  CHECK(data != NULL && length == 256);
  ++released;
}

static void test_memory_file(void) {
  unsigned char memory[256];
  for (int i = 0; i < 256; ++i) memory[i] = pattern_byte((uint64_t)i);
  halio_file_t* file = NULL;
  released = 0;
  CHECK_STATUS(halio_file_wrap_memory(memory, sizeof(memory), 0, count_release, &released,
                                      &file),
               HALIO_STATUS_INVALID_ARGUMENT, NULL);
  CHECK(released == 0); /* a failed wrap never calls release */
  CHECK_OK(halio_file_wrap_memory(memory, sizeof(memory), HALIO_ACCESS_READ_WRITE,
                                  count_release, &released, &file));
  if (file == NULL) return;
  CHECK(halio_file_length(file) == 256);
  CHECK(halio_file_backend(file) == HALIO_BACKEND_NONE);
  unsigned char back[100];
  CHECK_OK(halio_file_read(file, 100, back, 100));
  CHECK(first_wrong_byte(back, 100, 100) == 100);
  CHECK_STATUS(halio_file_write(file, 200, back, 100), HALIO_STATUS_OUT_OF_RANGE, NULL);
  waiter_t waiter;
  waiter_init(&waiter);
  CHECK_OK(halio_file_read_async(file, 0, back, 100, waiter_callback, &waiter));
  CHECK_OK(waiter_wait(&waiter, 1));
  CHECK(first_wrong_byte(back, 100, 0) == 100);
  waiter_destroy(&waiter);
  CHECK_STATUS(halio_file_flush(file, 1), HALIO_STATUS_FAILED_PRECONDITION, "memory file");
  CHECK(released == 0);
  halio_file_free(file);
  CHECK(released == 1);
}

/* --- semaphores -------------------------------------------------------------- */

typedef struct {
  halio_semaphore_t* semaphore;
  halio_status_t result;
} wait_job_t;

static void* wait_thread(void* arg) {
  wait_job_t* job = (wait_job_t*)arg;
  job->result = halio_semaphore_wait(job->semaphore, 10, HALIO_TIMEOUT_INFINITE);
  return NULL;
}

static void test_semaphores(void) {
  halio_semaphore_t* semaphore = NULL;
  CHECK_OK(halio_semaphore_create(3, &semaphore));
  if (semaphore == NULL) return;
  uint64_t value = 0;
  CHECK_OK(halio_semaphore_query(semaphore, &value));
  CHECK(value == 3);
  CHECK_OK(halio_semaphore_signal(semaphore, 5));
  CHECK_STATUS(halio_semaphore_signal(semaphore, 5), HALIO_STATUS_INVALID_ARGUMENT, NULL);
  CHECK_OK(halio_semaphore_wait(semaphore, 5, 0));
  CHECK_STATUS(halio_semaphore_wait(semaphore, 6, 1000000), HALIO_STATUS_DEADLINE_EXCEEDED,
               NULL);
  CHECK_STATUS(halio_semaphore_query(semaphore, NULL), HALIO_STATUS_INVALID_ARGUMENT,
               "out_value is NULL");
  CHECK_STATUS(halio_semaphore_signal(NULL, 1), HALIO_STATUS_INVALID_ARGUMENT,
               "semaphore is NULL");
  CHECK_STATUS(halio_semaphore_fail(semaphore, (halio_status_code_t)99, "no such code"),
               HALIO_STATUS_INVALID_ARGUMENT, "code 99");
  CHECK_OK(halio_semaphore_query(semaphore, &value)); /* not failed by that */

  /* A failure reaches a waiter blocked in another thread, with its message. */
  wait_job_t job = {semaphore, NULL};
  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, wait_thread, &job) == 0);
  CHECK_OK(halio_semaphore_fail(semaphore, HALIO_STATUS_DATA_LOSS, "dma engine lost the page"));
  pthread_join(thread, NULL);
  CHECK_STATUS(job.result, HALIO_STATUS_ABORTED, "dma engine lost the page");
  CHECK_STATUS(halio_semaphore_query(semaphore, &value), HALIO_STATUS_ABORTED,
               "dma engine lost the page");
  CHECK_STATUS(halio_semaphore_signal(semaphore, 9), HALIO_STATUS_ABORTED, NULL);

  halio_semaphore_t* other = NULL;
  CHECK_OK(halio_semaphore_create(0, &other));
  halio_semaphore_point_t points[2] = {{semaphore, 1}, {other, 1}};
  halio_semaphore_list_t list = {2, points};
  CHECK_STATUS(halio_semaphores_wait(list, 0, 0), HALIO_STATUS_ABORTED, "dma engine");
  points[0].semaphore = NULL;
  CHECK_STATUS(halio_semaphores_wait(list, 1, 0), HALIO_STATUS_INVALID_ARGUMENT, NULL);
  halio_semaphore_list_t dangling = {2, NULL};
  CHECK_STATUS(halio_semaphores_wait(dangling, 0, 0), HALIO_STATUS_INVALID_ARGUMENT,
               "points.points is NULL");
  halio_semaphore_free(other);
  halio_semaphore_free(semaphore);
}

/* --- devices and buffers ----------------------------------------------------- */

static void test_device_errors(void) {
  size_t count = 0;
  CHECK_OK(halio_available_devices(NULL, 0, &count));
  CHECK(count >= 3);
  const char* names[8] = {NULL};
  CHECK_OK(halio_available_devices(names, 2, &count));
  CHECK(names[0] != NULL && strcmp(names[0], "local_sync") == 0 && names[2] == NULL);
  CHECK_STATUS(halio_available_devices(NULL, 2, &count), HALIO_STATUS_INVALID_ARGUMENT,
               "names is NULL");
  halio_device_t* device = NULL;
  CHECK_STATUS(halio_device_create("no_such_device", NULL, &device), HALIO_STATUS_NOT_FOUND,
               "local_sync");
  CHECK_STATUS(halio_device_create(NULL, NULL, &device), HALIO_STATUS_INVALID_ARGUMENT,
               "name is NULL");
  halio_device_options_t options;
  halio_device_options_init(&options);
  options.queue_depth = 0;
  CHECK_STATUS(halio_device_create("local_async", &options, &device),
               HALIO_STATUS_INVALID_ARGUMENT, NULL);
  options.struct_size = 8;
  CHECK_STATUS(halio_device_create("local_async", &options, &device),
               HALIO_STATUS_INVALID_ARGUMENT, "options->struct_size is 8");
  CHECK(device == NULL);
}

static int buffer_released = 0;
static void count_buffer_release(void* user_data, void* data, size_t length) {
  (void)data;
  (void)length;
  ++*(int*)user_data;
}

static void test_buffers(void) {
  halio_device_t* device = NULL;
  CHECK_OK(halio_device_create("local_sync", NULL, &device));
  if (device == NULL) return;
  CHECK(strcmp(halio_device_id(device), "local_sync") == 0);
  halio_buffer_t* buffer = NULL;
  CHECK_OK(halio_device_allocate_buffer(device, NULL, 4096, &buffer));
  CHECK(halio_buffer_length(buffer) == 4096);
  CHECK(halio_buffer_host_visible(buffer) == 1);
  CHECK((halio_buffer_memory_type(buffer) & HALIO_MEMORY_HOST_VISIBLE) != 0);
  unsigned char data[4096];
  for (int i = 0; i < 4096; ++i) data[i] = pattern_byte((uint64_t)i);
  CHECK_OK(halio_buffer_write(buffer, 0, data, sizeof(data)));
  halio_mapping_t* mapping = NULL;
  CHECK_OK(halio_buffer_map(buffer, HALIO_ACCESS_READ, 100, 50, &mapping));
  CHECK(halio_mapping_length(mapping) == 50);
  CHECK(first_wrong_byte(halio_mapping_data(mapping), 50, 100) == 50);
  halio_mapping_unmap(mapping);
  CHECK_STATUS(halio_buffer_map(buffer, HALIO_ACCESS_READ, 4000, 200, &mapping),
               HALIO_STATUS_OUT_OF_RANGE, NULL);
  halio_device_address_t address;
  CHECK_STATUS(halio_buffer_device_address(buffer, &address), HALIO_STATUS_FAILED_PRECONDITION,
               "buffer of 4096 bytes is host memory and has no device address");
  CHECK_STATUS(halio_buffer_device_address(buffer, NULL), HALIO_STATUS_INVALID_ARGUMENT,
               "out_address");
  halio_buffer_t* view = NULL;
  CHECK_OK(halio_buffer_subspan(buffer, 1000, 10, &view));
  unsigned char back[10];
  CHECK_OK(halio_buffer_read(view, 0, back, 10));
  CHECK(first_wrong_byte(back, 10, 1000) == 10);
  CHECK_STATUS(halio_buffer_read(view, 5, back, 10), HALIO_STATUS_OUT_OF_RANGE, NULL);
  halio_buffer_free(view);
  halio_buffer_free(buffer);

  /* Imported memory: released once, after the last reference; read-only
   * buffers refuse to map for writing. */
  buffer_released = 0;
  halio_buffer_params_t params;
  halio_buffer_params_init(&params);
  params.access = HALIO_ACCESS_READ | HALIO_ACCESS_UNALIGNED;
  CHECK_OK(halio_device_import_buffer(device, &params, data + 1, 100, count_buffer_release,
                                      &buffer_released, &buffer));
  CHECK_STATUS(halio_buffer_write(buffer, 0, back, 10), HALIO_STATUS_PERMISSION_DENIED, NULL);
  CHECK_OK(halio_buffer_read(buffer, 0, back, 10));
  CHECK(first_wrong_byte(back, 10, 1) == 10);
  halio_buffer_free(buffer);
  CHECK(buffer_released == 1);
  params.access = HALIO_ACCESS_ALL;
  buffer = NULL;
  CHECK_STATUS(halio_device_import_buffer(device, &params, data + 1, 100, count_buffer_release,
                                          &buffer_released, &buffer),
               HALIO_STATUS_OUT_OF_RANGE, NULL);
  CHECK(buffer == NULL && buffer_released == 1);
  halio_device_free(device);
}

/* Fill -> update -> copy -> write to a file -> read it back, each waiting on
 * the previous through one timeline semaphore, on `device_name`. */
static void queue_chain(const char* device_name) {
  halio_device_t* device = NULL;
  CHECK_OK(halio_device_create(device_name, NULL, &device));
  if (device == NULL) return;
  halio_buffer_params_t params;
  halio_buffer_params_init(&params);
  params.memory_type = HALIO_MEMORY_DEVICE_LOCAL; /* device memory where there is any */
  halio_buffer_t* a = NULL;
  halio_buffer_t* b = NULL;
  halio_buffer_t* host = NULL;
  CHECK_OK(halio_device_allocate_buffer(device, &params, 8192, &a));
  CHECK_OK(halio_device_allocate_buffer(device, &params, 8192, &b));
  CHECK_OK(halio_device_allocate_buffer(device, NULL, 8192, &host));
  if (a == NULL || b == NULL || host == NULL) return;
  if (strcmp(device_name, "local_discrete") == 0) {
    CHECK(halio_buffer_host_visible(a) == 0);
    halio_mapping_t* mapping = NULL;
    CHECK_STATUS(halio_buffer_map(a, HALIO_ACCESS_READ, 0, 16, &mapping),
                 HALIO_STATUS_FAILED_PRECONDITION, NULL);
    halio_device_address_t address;
    CHECK_STATUS(halio_buffer_device_address(a, &address), HALIO_STATUS_UNIMPLEMENTED,
                 "local_discrete device memory has no address");
  }
  char path[512];
  scratch_path(path, sizeof(path), "queue.bin");
  halio_file_t* file = NULL;
  CHECK_OK(halio_file_open(path, HALIO_OPEN_READ | HALIO_OPEN_WRITE | HALIO_OPEN_CREATE |
                                     HALIO_OPEN_TRUNCATE, NULL, &file));
  halio_semaphore_t* timeline = NULL;
  CHECK_OK(halio_semaphore_create(0, &timeline));
  if (file == NULL || timeline == NULL) return;
  /* Reads are validated against the file's length when queued: give the
   * file its length before the write that fills it is queued. */
  unsigned char zeros[8192];
  memset(zeros, 0, sizeof(zeros));
  CHECK_OK(halio_file_write(file, 0, zeros, sizeof(zeros)));
  halio_semaphore_point_t points[10];
  for (int i = 0; i < 10; ++i) points[i] = (halio_semaphore_point_t){timeline, (uint64_t)i};
  /* wait for value i, signal i + 1 */
#define AFTER(i) ((halio_semaphore_list_t){(i) == 0 ? 0u : 1u, &points[i]})
#define THEN(i) ((halio_semaphore_list_t){1, &points[(i) + 1]})
  unsigned char update[100];
  for (int i = 0; i < 100; ++i) update[i] = (unsigned char)(i + 1);
  CHECK_OK(halio_queue_fill(device, AFTER(0), THEN(0), a, 0, 8192, 0xabababab, 4));
  CHECK_OK(halio_queue_update(device, AFTER(1), THEN(1), update, 100, a, 1000));
  memset(update, 0, sizeof(update)); /* captured by the call */
  CHECK_OK(halio_queue_copy(device, AFTER(2), THEN(2), a, 0, b, 0, 8192));
  CHECK_OK(halio_queue_write(device, AFTER(3), THEN(3), b, 0, file, 0, 8192));
  CHECK_OK(halio_queue_fill(device, AFTER(4), THEN(4), b, 0, 8192, 0, 1));
  CHECK_OK(halio_queue_read(device, AFTER(5), THEN(5), file, 0, b, 0, 8192));
  CHECK_OK(halio_queue_copy(device, AFTER(6), THEN(6), b, 0, host, 0, 8192));
  /* Validation: a bad request fails at once and signals nothing. */
  CHECK_STATUS(halio_queue_fill(device, AFTER(7), THEN(7), host, 8000, 200, 0, 1),
               HALIO_STATUS_OUT_OF_RANGE, NULL);
  CHECK_STATUS(halio_queue_read(device, AFTER(7), THEN(7), file, 8000, host, 0, 1000),
               HALIO_STATUS_OUT_OF_RANGE, "[8000, 9000)");
  CHECK_STATUS(halio_queue_copy(device, AFTER(7), THEN(7), NULL, 0, host, 0, 1),
               HALIO_STATUS_INVALID_ARGUMENT, "source is NULL");
  CHECK_OK(halio_semaphore_wait(timeline, 7, HALIO_TIMEOUT_INFINITE));
  CHECK_OK(halio_device_wait_idle(device, HALIO_TIMEOUT_INFINITE));
  uint64_t value = 0;
  CHECK_OK(halio_semaphore_query(timeline, &value));
  CHECK(value == 7);
  unsigned char back[8192];
  CHECK_OK(halio_buffer_read(host, 0, back, sizeof(back)));
  int good = 1;
  for (int i = 0; i < 8192; ++i) {
    const unsigned char want = i >= 1000 && i < 1100 ? (unsigned char)(i - 1000 + 1) : 0xab;
    if (back[i] != want) good = 0;
  }
  CHECK(good);

  /* alloca / dealloca, and a barrier. */
  halio_buffer_t* transient = NULL;
  CHECK_OK(halio_queue_alloca(device, AFTER(7), THEN(7), NULL, 4096, &transient));
  CHECK_OK(halio_queue_barrier(device, AFTER(8), kNoSemaphores));
  if (transient != NULL) {
    CHECK_OK(halio_queue_dealloca(device, AFTER(8), kNoSemaphores, transient));
    CHECK_OK(halio_device_wait_idle(device, HALIO_TIMEOUT_INFINITE));
    halio_mapping_t* mapping = NULL;
    CHECK_STATUS(halio_buffer_map(transient, HALIO_ACCESS_READ, 0, 16, &mapping),
                 HALIO_STATUS_FAILED_PRECONDITION, NULL);
    halio_buffer_free(transient);
  }

  /* A failed wait semaphore fails the op's signal semaphores, message kept. */
  halio_semaphore_t* gate = NULL;
  halio_semaphore_t* done = NULL;
  CHECK_OK(halio_semaphore_create(0, &gate));
  CHECK_OK(halio_semaphore_create(0, &done));
  halio_semaphore_point_t gate_point = {gate, 1};
  halio_semaphore_point_t done_point = {done, 1};
  halio_semaphore_list_t gate_list = {1, &gate_point};
  halio_semaphore_list_t done_list = {1, &done_point};
  if (strcmp(device_name, "local_sync") != 0) {
    /* local_sync would block in the call: the gate is failed first there. */
    CHECK_OK(halio_queue_fill(device, gate_list, done_list, host, 0, 16, 0, 1));
    CHECK_OK(halio_semaphore_fail(gate, HALIO_STATUS_UNAVAILABLE, "upstream driver reset"));
  } else {
    CHECK_OK(halio_semaphore_fail(gate, HALIO_STATUS_UNAVAILABLE, "upstream driver reset"));
    CHECK_STATUS(halio_queue_fill(device, gate_list, done_list, host, 0, 16, 0, 1),
                 HALIO_STATUS_ABORTED, "upstream driver reset");
  }
  CHECK_STATUS(halio_semaphore_wait(done, 1, HALIO_TIMEOUT_INFINITE), HALIO_STATUS_ABORTED,
               "upstream driver reset");
#undef AFTER
#undef THEN
  halio_semaphore_free(gate);
  halio_semaphore_free(done);
  halio_semaphore_free(timeline);
  halio_file_free(file);
  halio_buffer_free(a);
  halio_buffer_free(b);
  halio_buffer_free(host);
  halio_device_free(device);
}

static void test_queue_ops(void) {
  queue_chain("local_sync");
  queue_chain("local_async");
  queue_chain("local_discrete");
}

/* --- dispatch and command buffers -------------------------------------------- */

/* Multiplies the 4 uint32 values of its workgroup's tile by push_constants[0]. */
static halio_status_t scale_kernel(void* user_data, const halio_dispatch_state_t* state) {
  /* Local devices run one dispatch's workgroups in order, on one thread. */
  ++*(int*)user_data;
  if (state->binding_count != 1 || state->push_constant_count != 1) {
    return halio_status_create(HALIO_STATUS_INTERNAL, "unexpected dispatch shape");
  }
  uint32_t* values = (uint32_t*)state->bindings[0];
  for (uint32_t i = 0; i < 4; ++i) {
    values[state->workgroup_id[0] * 4 + i] *= state->push_constants[0];
  }
  return NULL;
}

static halio_status_t failing_kernel(void* user_data, const halio_dispatch_state_t* state) {
  (void)user_data;
  if (state->workgroup_id[0] == 1) {
    return halio_status_create(HALIO_STATUS_DATA_LOSS, "kernel saw a bad tile");
  }
  return NULL;
}

static void dispatch_on(const char* device_name) {
  halio_device_t* device = NULL;
  CHECK_OK(halio_device_create(device_name, NULL, &device));
  if (device == NULL) return;
  int groups_run = 0;
  const halio_entry_point_t entries[] = {{"scale", scale_kernel, &groups_run},
                                         {"fail", failing_kernel, NULL}};
  halio_executable_t* executable = NULL;
  CHECK_OK(halio_executable_create(entries, 2, &executable));
  halio_buffer_t* buffer = NULL;
  CHECK_OK(halio_device_allocate_buffer(device, NULL, 16 * sizeof(uint32_t), &buffer));
  if (executable == NULL || buffer == NULL) return;
  uint32_t values[16];
  for (uint32_t i = 0; i < 16; ++i) values[i] = i + 1;
  CHECK_OK(halio_buffer_write(buffer, 0, values, sizeof(values)));

  halio_semaphore_t* done = NULL;
  CHECK_OK(halio_semaphore_create(0, &done));
  halio_semaphore_point_t points[4] = {{done, 0}, {done, 1}, {done, 2}, {done, 3}};
  const uint32_t groups[3] = {4, 1, 1};
  const uint32_t three = 3;
  const halio_buffer_binding_t binding = {buffer, 0, HALIO_WHOLE_BUFFER};
  CHECK_OK(halio_queue_dispatch(device, kNoSemaphores, (halio_semaphore_list_t){1, &points[1]},
                                executable, 0, groups, &three, 1, &binding, 1));
  CHECK_OK(halio_semaphore_wait(done, 1, HALIO_TIMEOUT_INFINITE));
  CHECK(groups_run == 4);
  CHECK_OK(halio_buffer_read(buffer, 0, values, sizeof(values)));
  int good = 1;
  for (uint32_t i = 0; i < 16; ++i) good &= values[i] == 3 * (i + 1);
  CHECK(good);

  /* Validation, then a kernel's error reaching the signal semaphore. */
  CHECK_STATUS(halio_queue_dispatch(device, kNoSemaphores, kNoSemaphores, executable, 7, groups,
                                    &three, 1, &binding, 1),
               HALIO_STATUS_INVALID_ARGUMENT, NULL);
  const halio_buffer_binding_t no_buffer = {NULL, 0, 4};
  CHECK_STATUS(halio_queue_dispatch(device, kNoSemaphores, kNoSemaphores, executable, 0, groups,
                                    &three, 1, &no_buffer, 1),
               HALIO_STATUS_INVALID_ARGUMENT, "bindings[0].buffer is NULL");
  halio_status_t failed = halio_queue_dispatch(
      device, (halio_semaphore_list_t){1, &points[1]}, (halio_semaphore_list_t){1, &points[2]},
      executable, 1, groups, NULL, 0, &binding, 1);
  if (strcmp(device_name, "local_sync") == 0) {
    CHECK_STATUS(failed, HALIO_STATUS_DATA_LOSS, "kernel saw a bad tile");
  } else {
    CHECK_OK(failed);
  }
  CHECK_STATUS(halio_semaphore_wait(done, 2, HALIO_TIMEOUT_INFINITE), HALIO_STATUS_ABORTED,
               "kernel saw a bad tile");

  /* A command buffer: fill, update, copy and dispatch, replayed. */
  halio_semaphore_t* timeline = NULL;
  CHECK_OK(halio_semaphore_create(0, &timeline));
  halio_semaphore_point_t step = {timeline, 1};
  halio_buffer_t* copy = NULL;
  CHECK_OK(halio_device_allocate_buffer(device, NULL, 16 * sizeof(uint32_t), &copy));
  halio_command_buffer_t* commands = NULL;
  CHECK_OK(halio_command_buffer_create(&commands));
  if (commands == NULL || copy == NULL || timeline == NULL) return;
  const uint32_t first_tile[4] = {10, 20, 30, 40};
  CHECK_OK(halio_command_buffer_fill(commands, buffer, 0, HALIO_WHOLE_BUFFER, 1, 4));
  CHECK_OK(halio_command_buffer_update(commands, first_tile, sizeof(first_tile), buffer, 0));
  CHECK_OK(halio_command_buffer_dispatch(commands, executable, 0, groups, &three, 1, &binding, 1));
  CHECK_OK(halio_command_buffer_copy(commands, buffer, 0, copy, 0, 16 * sizeof(uint32_t)));
  CHECK_STATUS(halio_command_buffer_fill(commands, buffer, 0, 3, 1, 4),
               HALIO_STATUS_INVALID_ARGUMENT, NULL);
  CHECK_STATUS(halio_queue_execute(device, kNoSemaphores, kNoSemaphores, commands),
               HALIO_STATUS_FAILED_PRECONDITION, NULL);
  CHECK_OK(halio_command_buffer_finalize(commands));
  CHECK_STATUS(halio_command_buffer_copy(commands, buffer, 0, copy, 0, 4),
               HALIO_STATUS_FAILED_PRECONDITION, NULL);
  CHECK_OK(halio_queue_execute(device, kNoSemaphores, (halio_semaphore_list_t){1, &step},
                               commands));
  CHECK_OK(halio_semaphore_wait(timeline, 1, HALIO_TIMEOUT_INFINITE));
  CHECK_OK(halio_buffer_read(copy, 0, values, sizeof(values)));
  good = 1;
  for (uint32_t i = 0; i < 16; ++i) good &= values[i] == 3 * (i < 4 ? first_tile[i] : 1u);
  CHECK(good);
  halio_command_buffer_free(commands);
  halio_semaphore_free(timeline);
  halio_buffer_free(copy);
  halio_semaphore_free(done);
  halio_buffer_free(buffer);
  halio_executable_free(executable);
  halio_device_free(device);
}

static void test_dispatch(void) {
  dispatch_on("local_sync");
  dispatch_on("local_async");
  halio_executable_t* executable = NULL;
  CHECK_STATUS(halio_executable_create(NULL, 0, &executable), HALIO_STATUS_INVALID_ARGUMENT,
               NULL);
  const halio_entry_point_t no_kernel[] = {{"empty", NULL, NULL}};
  CHECK_STATUS(halio_executable_create(no_kernel, 1, &executable),
               HALIO_STATUS_INVALID_ARGUMENT, NULL);
  CHECK(executable == NULL);
  halio_executable_free(NULL);
  halio_command_buffer_free(NULL);
}

/* --- parameter index and loader ---------------------------------------------- */

/* Three tensors after a safetensors header; their bytes are pattern_byte of
 * their position in the data section. */
static const char kHeader[] =
    "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
    "\"b\":{\"dtype\":\"U8\",\"shape\":[5],\"data_offsets\":[24,29]},"
    "\"layers.0.w\":{\"dtype\":\"I16\",\"shape\":[4],\"data_offsets\":[29,37]}}";

static uint64_t header_bytes(void) { return (sizeof(kHeader) - 1 + 7) / 8 * 8; }

static int write_model(const char* path) {
  FILE* f = fopen(path, "wb");
  if (f == NULL) return 0;
  const uint64_t length = header_bytes();
  unsigned char prefix[8];
  for (int i = 0; i < 8; ++i) prefix[i] = (unsigned char)(length >> (8 * i));
  fwrite(prefix, 1, 8, f);
  fwrite(kHeader, 1, sizeof(kHeader) - 1, f);
  for (uint64_t i = sizeof(kHeader) - 1; i < length; ++i) fputc(' ', f);
  for (uint64_t i = 0; i < 37; ++i) fputc(pattern_byte(i), f);
  return fclose(f) == 0;
}

static halio_index_t* open_model(void) {
  char path[512];
  scratch_path(path, sizeof(path), "model.safetensors");
  CHECK(write_model(path));
  const char* paths[] = {path};
  halio_index_t* index = NULL;
  CHECK_OK(halio_index_open(paths, 1, &index));
  return index;
}

static void test_index(void) {
  halio_index_t* index = open_model();
  if (index == NULL) return;
  CHECK(halio_index_tensor_count(index) == 3);
  CHECK(halio_index_file_count(index) == 1);
  CHECK(strstr(halio_index_file_path(index, 0), "model.safetensors") != NULL);
  CHECK(halio_index_file_path(index, 1) == NULL);
  halio_tensor_info_t info;
  memset(&info, 0, sizeof(info));
  info.struct_size = sizeof(info);
  CHECK_OK(halio_index_tensor(index, 0, &info));
  CHECK(strcmp(info.name, "a") == 0 && strcmp(info.dtype, "F32") == 0);
  CHECK(info.rank == 2 && info.shape[0] == 2 && info.shape[1] == 3);
  CHECK(info.offset == 8 + header_bytes() && info.size == 24 && info.file_index == 0);
  CHECK(strstr(info.file, "model.safetensors") != NULL);
  size_t i = 0;
  CHECK_OK(halio_index_find(index, "layers.0.w", &i));
  CHECK_OK(halio_index_tensor(index, i, &info));
  CHECK(strcmp(info.dtype, "I16") == 0 && info.offset == 8 + header_bytes() + 29);
  CHECK_STATUS(halio_index_find(index, "missing", &i), HALIO_STATUS_NOT_FOUND, "missing");
  CHECK_STATUS(halio_index_tensor(index, 3, &info), HALIO_STATUS_OUT_OF_RANGE, NULL);
  info.struct_size = 4;
  CHECK_STATUS(halio_index_tensor(index, 0, &info), HALIO_STATUS_INVALID_ARGUMENT,
               "struct_size");
  halio_index_free(index);

  /* Several paths make one index; a name in two of them is refused. */
  char first[512], second[512], missing[512];
  fixture_path(first, sizeof(first), "st_metadata.safetensors");
  fixture_path(second, sizeof(second), "st_zero_size.safetensors");
  const char* both[] = {first, second};
  CHECK_OK(halio_index_open(both, 2, &index));
  if (index != NULL) {
    CHECK(halio_index_tensor_count(index) == 6);
    CHECK(halio_index_file_count(index) == 2);
    CHECK_OK(halio_index_find(index, "scalar", &i));
    memset(&info, 0, sizeof(info));
    info.struct_size = sizeof(info);
    CHECK_OK(halio_index_tensor(index, i, &info));
    CHECK(info.rank == 0 && info.file_index == 1 && info.size == 4);
    halio_index_free(index);
  }
  const char* twice[] = {first, first};
  CHECK_STATUS(halio_index_open(twice, 2, &index), HALIO_STATUS_INVALID_ARGUMENT, "weight");
  fixture_path(missing, sizeof(missing), "no_such.safetensors");
  const char* gone[] = {missing};
  CHECK_STATUS(halio_index_open(gone, 1, &index), HALIO_STATUS_NOT_FOUND, missing);
  CHECK_STATUS(halio_index_open(gone, 0, &index), HALIO_STATUS_INVALID_ARGUMENT, NULL);
}

static void check_loaded_bytes(halio_device_t* device, const halio_loaded_t* loaded,
                               const halio_index_t* index) {
  for (size_t t = 0; t < halio_loaded_count(loaded); ++t) {
    const char* name = NULL;
    halio_buffer_t* buffer = NULL;
    CHECK_OK(halio_loaded_tensor(loaded, t, &name, &buffer));
    if (buffer == NULL) continue;
    size_t i = 0;
    CHECK_OK(halio_index_find(index, name, &i));
    halio_tensor_info_t info;
    memset(&info, 0, sizeof(info));
    info.struct_size = sizeof(info);
    CHECK_OK(halio_index_tensor(index, i, &info));
    CHECK(halio_buffer_length(buffer) == info.size);
    /* Device memory is read back through a queue copy into host memory. */
    halio_buffer_t* host = NULL;
    CHECK_OK(halio_device_allocate_buffer(device, NULL, info.size, &host));
    halio_semaphore_t* copied = NULL;
    CHECK_OK(halio_semaphore_create(0, &copied));
    halio_semaphore_point_t point = {copied, 1};
    CHECK_OK(halio_queue_copy(device, kNoSemaphores, (halio_semaphore_list_t){1, &point},
                              buffer, 0, host, 0, info.size));
    CHECK_OK(halio_semaphore_wait(copied, 1, HALIO_TIMEOUT_INFINITE));
    unsigned char bytes[64];
    CHECK_OK(halio_buffer_read(host, 0, bytes, (size_t)info.size));
    const uint64_t data_start = info.offset - 8 - header_bytes();
    CHECK(first_wrong_byte(bytes, (size_t)info.size, data_start) == info.size);
    halio_semaphore_free(copied);
    halio_buffer_free(host);
    halio_buffer_free(buffer);
  }
}

static halio_load_progress_t last_progress;
static void record_progress(void* user_data, const halio_load_progress_t* progress) {
  ++*(int*)user_data;
  last_progress = *progress;
}

static int cancel_now(void* user_data) {
  ++*(int*)user_data;
  return 1;
}

static void test_load(void) {
  halio_index_t* index = open_model();
  if (index == NULL) return;
  const char* devices[] = {"local_sync", "local_async", "local_discrete"};
  for (size_t d = 0; d < 3; ++d) {
    halio_device_t* device = NULL;
    CHECK_OK(halio_device_create(devices[d], NULL, &device));
    if (device == NULL) continue;
    int progress_calls = 0;
    halio_load_options_t options;
    halio_load_options_init(&options);
    options.progress = record_progress;
    options.progress_user_data = &progress_calls;
    halio_loaded_t* loaded = NULL;
    CHECK_OK(halio_load(device, index, &options, &loaded));
    CHECK(halio_loaded_count(loaded) == 3 && halio_loaded_bytes(loaded) == 37);
    CHECK(progress_calls > 0 && last_progress.bytes_done == 37 &&
          last_progress.tensors_done == 3);
    check_loaded_bytes(device, loaded, index);
    halio_loaded_free(loaded);

    const char* layers[] = {"layers.*"};
    options.select = layers;
    options.select_count = 1;
    loaded = NULL;
    CHECK_OK(halio_load(device, index, &options, &loaded));
    CHECK(halio_loaded_count(loaded) == 1 && halio_loaded_bytes(loaded) == 8);
    check_loaded_bytes(device, loaded, index);
    halio_loaded_free(loaded);

    const char* nothing[] = {"a", "nothing*"};
    options.select = nothing;
    options.select_count = 2;
    CHECK_STATUS(halio_load(device, index, &options, &loaded), HALIO_STATUS_NOT_FOUND,
                 "nothing*");

    int asked = 0;
    options.select_count = 0;
    options.cancel = cancel_now;
    options.cancel_user_data = &asked;
    CHECK_STATUS(halio_load(device, index, &options, &loaded), HALIO_STATUS_CANCELLED,
                 "cancelled");
    CHECK(asked > 0);
    halio_device_free(device);
  }

  /* Mapped: views of the file on a host device, read-only. */
  halio_device_t* device = NULL;
  CHECK_OK(halio_device_create("local_sync", NULL, &device));
  halio_load_options_t options;
  halio_load_options_init(&options);
  options.map = 1;
  halio_loaded_t* loaded = NULL;
  CHECK_OK(halio_load(device, index, &options, &loaded));
  CHECK(halio_loaded_mapped(loaded) == 1);
  halio_buffer_t* tensor = NULL;
  CHECK_OK(halio_loaded_tensor(loaded, 0, NULL, &tensor));
  CHECK((halio_buffer_access(tensor) & HALIO_ACCESS_READ_WRITE) == HALIO_ACCESS_READ);
  check_loaded_bytes(device, loaded, index);
  CHECK_STATUS(halio_loaded_tensor(loaded, 3, NULL, NULL), HALIO_STATUS_OUT_OF_RANGE, NULL);
  halio_loaded_free(loaded);
  /* The tensor's handle outlives the load's. */
  unsigned char first[4];
  CHECK_OK(halio_buffer_read(tensor, 0, first, 4));
  CHECK(first_wrong_byte(first, 4, 0) == 4);
  halio_buffer_free(tensor);
  CHECK_STATUS(halio_load(device, NULL, NULL, &loaded), HALIO_STATUS_INVALID_ARGUMENT,
               "index is NULL");

  /* From memory: the model's bytes wrapped as a file, tensors viewing them. */
  static unsigned char model[512];
  char path[512];
  scratch_path(path, sizeof(path), "model.safetensors");
  FILE* f = fopen(path, "rb");
  const size_t model_length = f != NULL ? fread(model, 1, sizeof(model), f) : 0;
  if (f != NULL) fclose(f);
  CHECK(model_length == 8 + header_bytes() + 37);
  halio_file_t* memory_file = NULL;
  CHECK_OK(halio_file_wrap_memory(model, model_length, HALIO_ACCESS_READ, NULL, NULL,
                                  &memory_file));
  halio_load_options_init(&options);
  options.files = &memory_file;
  options.file_count = 1;
  loaded = NULL;
  CHECK_OK(halio_load(device, index, &options, &loaded));
  CHECK(halio_loaded_count(loaded) == 3);
  tensor = NULL;
  CHECK_OK(halio_loaded_tensor(loaded, 2, NULL, &tensor));
  halio_mapping_t* view = NULL;
  CHECK_OK(halio_buffer_map(tensor, HALIO_ACCESS_READ, 0, 8, &view));
  CHECK(halio_mapping_data(view) == model + 8 + header_bytes() + 29); /* no copy */
  halio_mapping_unmap(view);
  halio_buffer_free(tensor);
  check_loaded_bytes(device, loaded, index);
  halio_loaded_free(loaded);
  halio_file_free(memory_file);
  options.files = NULL;
  CHECK_STATUS(halio_load(device, index, &options, &loaded), HALIO_STATUS_INVALID_ARGUMENT,
               "options->files is NULL");
  halio_device_free(device);
  halio_index_free(index);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: capi_test TESTDATA_DIR\n");
    return 2;
  }
  testdata_dir = argv[1];
  if (capi_make_scratch_dir(scratch_dir, sizeof(scratch_dir), "halio_capi_") != 0) return 1;
  RUN_TEST(test_status);
  RUN_TEST(test_file_errors);
  RUN_TEST(test_file_sync_io);
  RUN_TEST(test_file_async_io);
  RUN_TEST(test_memory_file);
  RUN_TEST(test_semaphores);
  RUN_TEST(test_device_errors);
  RUN_TEST(test_buffers);
  RUN_TEST(test_queue_ops);
  RUN_TEST(test_dispatch);
  RUN_TEST(test_index);
  RUN_TEST(test_load);
  capi_remove_scratch_dir(scratch_dir);
  printf("%d failure(s)\n", capi_failures);
  return capi_failures == 0 ? 0 : 1;
}
