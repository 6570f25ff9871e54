/* A "foreign" HAL driver in C that uses only halio's file layer: it owns its
 * device memory (malloc) and its completion queue (a mutex + condition
 * variable ring), and serves its own queue_read by splitting a file range
 * into chunks, keeping many in flight through halio_file_read_async, and
 * reaping their completions from its ring. Every byte is checked, on every
 * backend halio can run here, buffered and O_DIRECT, aligned and not.
 *
 *   foreign_driver_test */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capi_testing.h"
#include "halio/halio.h"

enum { kRingSize = 64 };

typedef struct {
  uint64_t chunk;
  halio_status_t status;
} completion_t;

typedef struct {
  pthread_mutex_t mutex;
  pthread_cond_t ready;
  completion_t ring[kRingSize];
  size_t head; /* next to reap */
  size_t tail; /* next free */
  unsigned char* memory; /* the driver's own "device memory" */
  size_t memory_size;
} driver_t;

typedef struct {
  driver_t* driver;
  uint64_t chunk;
} chunk_request_t;

static int driver_init(driver_t* driver, size_t memory_size) {
  pthread_mutex_init(&driver->mutex, NULL);
  pthread_cond_init(&driver->ready, NULL);
  driver->head = driver->tail = 0;
  driver->memory = malloc(memory_size);
  driver->memory_size = memory_size;
  return driver->memory != NULL;
}

static void driver_destroy(driver_t* driver) {
  free(driver->memory);
  pthread_cond_destroy(&driver->ready);
  pthread_mutex_destroy(&driver->mutex);
}

/* halio's completion callback: posts to the driver's ring, nothing more.
 * The ring never overflows: at most kRingSize chunks are in flight. */
static void post_completion(void* user_data, halio_status_t status) {
  chunk_request_t* request = (chunk_request_t*)user_data;
  driver_t* driver = request->driver;
  pthread_mutex_lock(&driver->mutex);
  driver->ring[driver->tail % kRingSize] = (completion_t){request->chunk, status};
  ++driver->tail;
  pthread_cond_signal(&driver->ready);
  pthread_mutex_unlock(&driver->mutex);
}

static completion_t reap_completion(driver_t* driver) {
  pthread_mutex_lock(&driver->mutex);
  while (driver->head == driver->tail) pthread_cond_wait(&driver->ready, &driver->mutex);
  completion_t completion = driver->ring[driver->head % kRingSize];
  ++driver->head;
  pthread_mutex_unlock(&driver->mutex);
  return completion;
}

typedef struct {
  size_t max_in_flight;   /* the most chunks outstanding at once */
  uint64_t chunks_done;
} read_stats_t;

/* The driver's queue_read: file [file_offset, + length) into its memory at
 * memory_offset, in chunks of `chunk_size`, up to `depth` in flight. Returns
 * the first error (submission or completion); waits for every chunk it
 * submitted either way. */
static halio_status_t driver_queue_read(driver_t* driver, halio_file_t* file,
                                        uint64_t file_offset, size_t memory_offset,
                                        uint64_t length, uint64_t chunk_size, size_t depth,
                                        read_stats_t* stats) {
  const uint64_t chunk_count = (length + chunk_size - 1) / chunk_size;
  chunk_request_t* requests = calloc(chunk_count > 0 ? chunk_count : 1, sizeof(*requests));
  halio_status_t first_error = NULL;
  uint64_t next = 0;
  size_t in_flight = 0;
  stats->max_in_flight = 0;
  stats->chunks_done = 0;
  while (next < chunk_count || in_flight > 0) {
    while (next < chunk_count && in_flight < depth && first_error == NULL) {
      const uint64_t begin = next * chunk_size;
      const uint64_t bytes = length - begin < chunk_size ? length - begin : chunk_size;
      requests[next] = (chunk_request_t){driver, next};
      halio_status_t status = halio_file_read_async(
          file, file_offset + begin, driver->memory + memory_offset + begin, (size_t)bytes,
          post_completion, &requests[next]);
      ++next;
      if (status != NULL) {
        first_error = status;
        break;
      }
      ++in_flight;
      if (in_flight > stats->max_in_flight) stats->max_in_flight = in_flight;
    }
    if (first_error != NULL && in_flight == 0) break;
    if (in_flight == 0) continue;
    completion_t done = reap_completion(driver);
    --in_flight;
    ++stats->chunks_done;
    if (done.status != NULL && first_error == NULL) {
      first_error = done.status;
    } else {
      halio_status_free(done.status);
    }
  }
  free(requests);
  return first_error;
}

static char scratch_dir[256];

static void serve_reads(halio_backend_t backend, int direct) {
  const uint64_t length = (8u << 20) + 12345; /* an odd tail */
  char path[512];
  snprintf(path, sizeof(path), "%s/weights.bin", scratch_dir);
  if (!write_pattern_file(path, length)) {
    CHECK(!"could not write the pattern file");
    return;
  }
  halio_file_options_t options;
  halio_file_options_init(&options);
  options.backend = backend;
  options.direct = direct;
  halio_file_t* file = NULL;
  halio_status_t status = halio_file_open(path, HALIO_OPEN_READ, &options, &file);
  if (halio_status_code(status) == HALIO_STATUS_UNAVAILABLE) {
    printf("     (%s unavailable here: %s)\n", halio_backend_name(backend),
           halio_status_message(status));
    halio_status_free(status);
    return;
  }
  CHECK_OK(status);
  if (file == NULL) return;
  printf("     backend %s%s%s%s\n", halio_backend_name(halio_file_backend(file)),
         direct ? ", O_DIRECT" : "", halio_file_direct_fallback_reason(file)[0] ? ": " : "",
         halio_file_direct_fallback_reason(file));

  driver_t driver;
  CHECK(driver_init(&driver, length + 4096 + 1));
  /* Aligned, then one byte off alignment; 64 KiB chunks, 32 in flight. */
  const size_t memory_offsets[] = {0, 1, 4096};
  for (size_t m = 0; m < 3; ++m) {
    memset(driver.memory, 0, driver.memory_size);
    read_stats_t stats;
    CHECK_OK(driver_queue_read(&driver, file, 0, memory_offsets[m], length, 65536, 32,
                               &stats));
    CHECK(stats.chunks_done == (length + 65535) / 65536);
    CHECK(stats.max_in_flight == 32); /* submissions never wait for completions */
    CHECK(first_wrong_byte(driver.memory + memory_offsets[m], (size_t)length, 0) == length);
  }
  /* An odd file range and chunk size. */
  read_stats_t stats;
  memset(driver.memory, 0, driver.memory_size);
  CHECK_OK(driver_queue_read(&driver, file, 777, 3, length - 1000, 100003, 16, &stats));
  CHECK(first_wrong_byte(driver.memory + 3, (size_t)(length - 1000), 777) == length - 1000);

  /* A range past the end fails at submission, with C++'s wording; the
   * chunks already in flight are still reaped. */
  CHECK_STATUS(driver_queue_read(&driver, file, length - 65536 * 2, 0, 65536 * 3, 65536, 32,
                                 &stats),
               HALIO_STATUS_OUT_OF_RANGE, "is past the end of the file");
  CHECK(stats.chunks_done == 2);
  /* Truncated underneath: the missing bytes fail in a completion. */
  CHECK(truncate(path, length / 2) == 0);
  CHECK_STATUS(driver_queue_read(&driver, file, 0, 0, length, 65536, 32, &stats),
               HALIO_STATUS_OUT_OF_RANGE, "weights.bin");
  CHECK(stats.chunks_done >= 1);
  driver_destroy(&driver);
  halio_file_free(file);
}

static void test_foreign_driver(void) {
  const halio_backend_t backends[] = {HALIO_BACKEND_AUTO, HALIO_BACKEND_IO_URING,
                                      HALIO_BACKEND_ASIO, HALIO_BACKEND_SYNC};
  for (size_t b = 0; b < 4; ++b) {
    serve_reads(backends[b], 0);
    serve_reads(backends[b], 1);
  }
}

int main(void) {
  if (capi_make_scratch_dir(scratch_dir, sizeof(scratch_dir), "halio_driver_") != 0) return 1;
  RUN_TEST(test_foreign_driver);
  capi_remove_scratch_dir(scratch_dir);
  printf("%d failure(s)\n", capi_failures);
  return capi_failures == 0 ? 0 : 1;
}
