/* halio's C ABI: files, devices, buffers, semaphores, queue operations and
 * the parameter loader, for HAL drivers and runtimes written in C (or any
 * language with a C FFI). C11; usable from C++ as well.
 *
 * Conventions, for every function below:
 *
 * Errors. A function that can fail returns halio_status_t: NULL means OK;
 *   otherwise a handle carrying a code (halio_status_code_t, numbered as
 *   halio::StatusCode and absl/IREE) and a message that names what failed
 *   (the file, the byte range, the fix where known): the same message the
 *   C++ API gives for the same call. The caller owns a returned status and
 *   frees it with halio_status_free. NULL where a handle or an out-pointer
 *   is required is HALIO_STATUS_INVALID_ARGUMENT naming the argument. No C++
 *   exception crosses this boundary: out of memory is
 *   HALIO_STATUS_RESOURCE_EXHAUSTED, anything else unexpected
 *   HALIO_STATUS_INTERNAL. On error, out-parameters are left untouched.
 *
 * Ownership. Every handle a function creates (halio_*_t** out) belongs to
 *   the caller, who frees it with the matching halio_*_free; freeing NULL
 *   does nothing. Files, buffers and semaphores are reference counted
 *   inside halio: freeing a handle drops the caller's reference, and a
 *   queue operation in flight keeps what it uses alive until it completes.
 *   Strings returned as const char* stay valid as long as the handle they
 *   came from (noted where otherwise).
 *
 * Versioned options. Option structs start with `size_t struct_size`; fill
 *   one with its halio_*_options_init() (which sets struct_size to the size
 *   this header knows and every field to its default), then change fields.
 *   A library newer than the header reads only the first struct_size bytes
 *   and defaults the rest, so fields can be added without breaking callers.
 *   Passing NULL for an options pointer means all defaults. A struct_size
 *   smaller than the struct's first version is INVALID_ARGUMENT.
 *
 * Callbacks take the caller's `void* user_data` back as their first
 *   argument, and must not unwind (longjmp, C++ exceptions) into halio.
 *
 * Thread-safety. Unless a function says otherwise, any function may be
 *   called from any thread, concurrently with others, on distinct or the same
 *   handles, except that a handle must not be used during or after its
 *   halio_*_free. Status handles are values: one thread at a time each.
 *
 * Enums end in a *_MAX_ENUM of 0x7fffffff, which is no value: it keeps each
 * enum int-sized in C and C++ alike, so any int a caller passes is a value
 * of the type and a bad one is reported, not undefined. */
#ifndef HALIO_HALIO_H_
#define HALIO_HALIO_H_

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#if defined(HALIO_C_API_BUILD)
#define HALIO_C_API __declspec(dllexport)
#else
#define HALIO_C_API __declspec(dllimport)
#endif
#elif defined(__GNUC__)
#define HALIO_C_API __attribute__((visibility("default")))
#else
#define HALIO_C_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Status                                                                   */
/* ------------------------------------------------------------------------ */

typedef enum halio_status_code_e {
  HALIO_STATUS_OK = 0,
  HALIO_STATUS_CANCELLED = 1,
  HALIO_STATUS_UNKNOWN = 2,
  HALIO_STATUS_INVALID_ARGUMENT = 3,
  HALIO_STATUS_DEADLINE_EXCEEDED = 4,
  HALIO_STATUS_NOT_FOUND = 5,
  HALIO_STATUS_ALREADY_EXISTS = 6,
  HALIO_STATUS_PERMISSION_DENIED = 7,
  HALIO_STATUS_RESOURCE_EXHAUSTED = 8,
  HALIO_STATUS_FAILED_PRECONDITION = 9,
  HALIO_STATUS_ABORTED = 10,
  HALIO_STATUS_OUT_OF_RANGE = 11,
  HALIO_STATUS_UNIMPLEMENTED = 12,
  HALIO_STATUS_INTERNAL = 13,
  HALIO_STATUS_UNAVAILABLE = 14,
  HALIO_STATUS_DATA_LOSS = 15,
  HALIO_STATUS_CODE_MAX_ENUM = 0x7fffffff
} halio_status_code_t;

/* A failure: code + message. NULL is OK. */
typedef struct halio_status_s* halio_status_t;

/* The status's code; HALIO_STATUS_OK for NULL. */
HALIO_C_API halio_status_code_t halio_status_code(halio_status_t status);
/* The message (NUL-terminated, never NULL; "" for NULL), valid until the
 * status is freed. */
HALIO_C_API const char* halio_status_message(halio_status_t status);
/* "OUT_OF_RANGE" etc. (static storage); "UNKNOWN_CODE" outside the enum. */
HALIO_C_API const char* halio_status_code_name(halio_status_code_t code);
/* Makes a status (for callbacks that report failure, and halio_semaphore_fail).
 * HALIO_STATUS_OK yields NULL. `message` may be NULL (empty). Never fails: out
 * of memory yields a static RESOURCE_EXHAUSTED status, which
 * halio_status_free accepts as well. */
HALIO_C_API halio_status_t halio_status_create(halio_status_code_t code, const char* message);
/* Frees `status`; NULL does nothing. */
HALIO_C_API void halio_status_free(halio_status_t status);

/* ------------------------------------------------------------------------ */
/* Common enums                                                             */
/* ------------------------------------------------------------------------ */

/* Bit flags, as halio::MemoryAccess. */
typedef enum halio_memory_access_e {
  HALIO_ACCESS_NONE = 0,
  HALIO_ACCESS_READ = 1u << 0,
  HALIO_ACCESS_WRITE = 1u << 1,
  HALIO_ACCESS_DISCARD = 1u << 2,
  HALIO_ACCESS_UNALIGNED = 1u << 3,
  HALIO_ACCESS_READ_WRITE = 3u,
  HALIO_ACCESS_ALL = 7u,
  HALIO_ACCESS_MAX_ENUM = 0x7fffffff
} halio_memory_access_t;

/* As halio::IoBackend. HALIO_BACKEND_NONE is what halio_file_backend says of
 * a memory file (its bytes move by memcpy). */
typedef enum halio_backend_e {
  HALIO_BACKEND_AUTO = 0,
  HALIO_BACKEND_IO_URING = 1,
  HALIO_BACKEND_ASIO = 2,
  HALIO_BACKEND_SYNC = 3,
  HALIO_BACKEND_NONE = 4,
  HALIO_BACKEND_MAX_ENUM = 0x7fffffff
} halio_backend_t;

/* "auto", "io_uring", "asio", "sync", "none" (static storage). */
HALIO_C_API const char* halio_backend_name(halio_backend_t backend);

/* Pass as a length: "from the offset to the end". */
#define HALIO_WHOLE_BUFFER UINT64_MAX
/* Pass as a timeout: wait forever. Timeouts are relative, in nanoseconds; 0
 * polls. */
#define HALIO_TIMEOUT_INFINITE UINT64_MAX

/* ------------------------------------------------------------------------ */
/* Files                                                                    */
/* ------------------------------------------------------------------------ */
/* The file layer works on its own: a driver that keeps its own memory and
 * completion queue can read and write file ranges with it, synchronously or
 * through the file's I/O engine, without any device. Thread-safety: every
 * call may be made from any thread, including from a completion callback;
 * concurrent writes to the same file range race as with pwrite. */

typedef struct halio_file_s halio_file_t;

/* Bit flags, as halio::OpenMode. */
typedef enum halio_open_mode_e {
  HALIO_OPEN_READ = 1u << 0,
  HALIO_OPEN_WRITE = 1u << 1,
  HALIO_OPEN_CREATE = 1u << 2,   /* create if missing (0644 before umask) */
  HALIO_OPEN_TRUNCATE = 1u << 3, /* truncate to 0 bytes */
  HALIO_OPEN_MAX_ENUM = 0x7fffffff
} halio_open_mode_t;

typedef struct halio_file_options_s {
  size_t struct_size;
  /* Which engine the file's asynchronous I/O uses. AUTO (after the
   * HALIO_BACKEND environment variable) picks io_uring -> asio -> sync and
   * records why it fell back (halio_file_backend_fallback_reason); a forced
   * backend that cannot start makes the open fail with UNAVAILABLE. */
  halio_backend_t backend;
  /* Nonzero: open with O_DIRECT (halio_file_open only; any offset, length
   * and memory still work). Where the filesystem refuses it (tmpfs) the file
   * uses buffered I/O and halio_file_direct_fallback_reason says why. */
  int direct;
  /* Nonzero: fdatasync when the last reference to the file drops. */
  int sync_on_close;
} halio_file_options_t;

HALIO_C_API void halio_file_options_init(halio_file_options_t* options);

/* Opens `path` (`mode`: halio_open_mode_t bits). Errors, each naming the
 * path: NOT_FOUND, PERMISSION_DENIED, INVALID_ARGUMENT (neither read nor
 * write), FAILED_PRECONDITION (not a regular file or block device),
 * UNAVAILABLE (a forced backend that cannot run), other mapped errnos. */
HALIO_C_API halio_status_t halio_file_open(const char* path, uint32_t mode,
                                           const halio_file_options_t* options,
                                           halio_file_t** out_file);
/* Imports an open descriptor: halio duplicates it (O_CLOEXEC) and closes only
 * its duplicate; the caller keeps and closes `fd`. `access`
 * (halio_memory_access_t READ and/or WRITE) must be a subset of what `fd` was
 * opened with. options->direct is ignored (the descriptor's flags stand).
 * Errors: INVALID_ARGUMENT (no access bits), FAILED_PRECONDITION (EBADF),
 * UNAVAILABLE, other mapped errnos of dup/fstat. */
HALIO_C_API halio_status_t halio_file_from_fd(int fd, uint32_t access,
                                              const halio_file_options_t* options,
                                              halio_file_t** out_file);

/* Called once with the memory when the last reference to a memory file (the
 * file handle, operations in flight, loaded tensors viewing it) drops. */
typedef void (*halio_release_fn_t)(void* user_data, void* data, size_t length);

/* Wraps `length` bytes at `data` as a file, without copying; the memory must
 * stay valid until `release` (may be NULL) is called. If this fails,
 * `release` is not called and the caller keeps the memory. Errors:
 * INVALID_ARGUMENT (no access bits, NULL data with a nonzero length),
 * RESOURCE_EXHAUSTED. */
HALIO_C_API halio_status_t halio_file_wrap_memory(void* data, size_t length, uint32_t access,
                                                  halio_release_fn_t release, void* user_data,
                                                  halio_file_t** out_file);

/* Drops the caller's reference (see Ownership). NULL does nothing. */
HALIO_C_API void halio_file_free(halio_file_t* file);

/* Length in bytes (raised by writes through the file); 0 for NULL. */
HALIO_C_API uint64_t halio_file_length(const halio_file_t* file);
/* halio_memory_access_t bits the file allows; 0 for NULL. */
HALIO_C_API uint32_t halio_file_access(const halio_file_t* file);
/* The path, "fd N" or "memory file" (as error messages name it). */
HALIO_C_API const char* halio_file_description(const halio_file_t* file);
/* The backend the file's asynchronous requests go through: IO_URING or ASIO,
 * SYNC when it uses blocking I/O, NONE for a memory file. */
HALIO_C_API halio_backend_t halio_file_backend(const halio_file_t* file);
/* Why the file uses synchronous I/O ("" when it got an async engine or is a
 * memory file). */
HALIO_C_API const char* halio_file_backend_fallback_reason(const halio_file_t* file);
/* Nonzero when the file was opened with O_DIRECT. */
HALIO_C_API int halio_file_direct(const halio_file_t* file);
/* Why O_DIRECT was asked for and not granted, or "". */
HALIO_C_API const char* halio_file_direct_fallback_reason(const halio_file_t* file);

/* Synchronous transfers between file bytes [offset, offset + length) and
 * caller memory, on the calling thread. Errors (as File::Read/Write):
 * PERMISSION_DENIED (file not opened for it), OUT_OF_RANGE naming the file and
 * the range (past the end of the file for reads; end of file reached early),
 * INVALID_ARGUMENT (NULL memory with a nonzero length), RESOURCE_EXHAUSTED
 * (ENOSPC), and the mapped errno of a failed call. A write extends an fd file
 * (a memory file never grows). */
HALIO_C_API halio_status_t halio_file_read(halio_file_t* file, uint64_t offset, void* data,
                                           size_t length);
HALIO_C_API halio_status_t halio_file_write(halio_file_t* file, uint64_t offset,
                                            const void* data, size_t length);

/* Completion of an asynchronous transfer: `status` is NULL when every byte
 * moved, else the error (as the synchronous call's); the callback owns it and
 * frees it with halio_status_free. Runs exactly once, on an engine thread or,
 * where the transfer ran on the calling thread, before the submitting call
 * returns (so it must not take a lock the submitter holds). It may submit
 * more requests. */
typedef void (*halio_io_callback_t)(void* user_data, halio_status_t status);

/* Asynchronous transfers between a file range and caller memory, through the
 * file's I/O engine: many may be in flight at once, on one file or many. The
 * request is validated first, with the synchronous call's checks and
 * wording: a bad request returns its error and never calls `callback`. OK
 * means `callback` will be called (perhaps already was). Where each request
 * goes is the file's to decide, as for a device's chunks: to io_uring or
 * asio; bytes the page cache holds are first copied on the calling thread
 * without waiting; files using synchronous I/O (the sync backend), O_DIRECT
 * pieces needing bounce memory, reads into memory the kernel copies slowly,
 * and memory files run on the calling thread. `data` must stay valid and
 * untouched until the callback; the file stays alive until then even if its
 * handle is freed. Errors: those of validation, RESOURCE_EXHAUSTED for the
 * request's bookkeeping. */
HALIO_C_API halio_status_t halio_file_read_async(halio_file_t* file, uint64_t offset,
                                                 void* data, size_t length,
                                                 halio_io_callback_t callback, void* user_data);
HALIO_C_API halio_status_t halio_file_write_async(halio_file_t* file, uint64_t offset,
                                                  const void* data, size_t length,
                                                  halio_io_callback_t callback,
                                                  void* user_data);

/* fdatasync (data_only nonzero) or fsync. Errors: FAILED_PRECONDITION for a
 * memory file, the mapped errno. */
HALIO_C_API halio_status_t halio_file_flush(halio_file_t* file, int data_only);

/* ------------------------------------------------------------------------ */
/* Semaphores                                                               */
/* ------------------------------------------------------------------------ */
/* Timeline semaphores: a 64-bit value that only rises, and a sticky failure. */

typedef struct halio_semaphore_s halio_semaphore_t;

/* Errors: RESOURCE_EXHAUSTED. */
HALIO_C_API halio_status_t halio_semaphore_create(uint64_t initial_value,
                                                  halio_semaphore_t** out_semaphore);
/* Drops the caller's reference; operations that use it keep it alive. */
HALIO_C_API void halio_semaphore_free(halio_semaphore_t* semaphore);
/* The current value. Errors: ABORTED carrying the failure once failed. */
HALIO_C_API halio_status_t halio_semaphore_query(halio_semaphore_t* semaphore,
                                                 uint64_t* out_value);
/* Raises the value and wakes waiters. Errors: INVALID_ARGUMENT when `value`
 * is not above the current value; ABORTED once failed. */
HALIO_C_API halio_status_t halio_semaphore_signal(halio_semaphore_t* semaphore,
                                                  uint64_t value);
/* Fails the semaphore with `code` and `message` (OK becomes UNKNOWN). The
 * first failure wins. Every current and later wait returns ABORTED whose
 * message carries `message`. */
HALIO_C_API halio_status_t halio_semaphore_fail(halio_semaphore_t* semaphore,
                                                halio_status_code_t code, const char* message);
/* Blocks until value >= `value`, at most `timeout_ns` (HALIO_TIMEOUT_INFINITE:
 * forever). Errors: DEADLINE_EXCEEDED, ABORTED with the failure. */
HALIO_C_API halio_status_t halio_semaphore_wait(halio_semaphore_t* semaphore, uint64_t value,
                                                uint64_t timeout_ns);

/* {semaphore, value}: "wait until >= value" or "signal to value". */
typedef struct halio_semaphore_point_s {
  halio_semaphore_t* semaphore;
  uint64_t value;
} halio_semaphore_point_t;

typedef struct halio_semaphore_list_s {
  size_t count;
  const halio_semaphore_point_t* points;
} halio_semaphore_list_t;

/* Waits for every point (any == 0) or any point (any != 0). An empty list is
 * satisfied at once. Errors: INVALID_ARGUMENT (a NULL semaphore),
 * DEADLINE_EXCEEDED, ABORTED. */
HALIO_C_API halio_status_t halio_semaphores_wait(halio_semaphore_list_t points, int any,
                                                 uint64_t timeout_ns);

/* ------------------------------------------------------------------------ */
/* Buffers                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct halio_buffer_s halio_buffer_t;

/* Bit flags, as halio::MemoryType. */
typedef enum halio_memory_type_e {
  HALIO_MEMORY_DEVICE_LOCAL = 1u << 0,
  HALIO_MEMORY_HOST_LOCAL = 1u << 1,
  HALIO_MEMORY_HOST_VISIBLE = 1u << 2,
  HALIO_MEMORY_HOST_COHERENT = 1u << 3,
  HALIO_MEMORY_HOST_CACHED = 1u << 4,
  /* Plain host memory (the default). */
  HALIO_MEMORY_HOST = 0x1eu,
  HALIO_MEMORY_MAX_ENUM = 0x7fffffff
} halio_memory_type_t;

/* Bit flags, as halio::BufferUsage. */
typedef enum halio_buffer_usage_e {
  HALIO_USAGE_TRANSFER_SOURCE = 1u << 0,
  HALIO_USAGE_TRANSFER_TARGET = 1u << 1,
  HALIO_USAGE_DISPATCH_STORAGE = 1u << 2,
  HALIO_USAGE_MAPPING = 1u << 3,
  HALIO_USAGE_DEFAULT = 0xfu,
  HALIO_USAGE_MAX_ENUM = 0x7fffffff
} halio_buffer_usage_t;

typedef struct halio_buffer_params_s {
  size_t struct_size;
  uint32_t memory_type;   /* halio_memory_type_t bits; HALIO_MEMORY_HOST */
  uint32_t usage;         /* halio_buffer_usage_t bits; HALIO_USAGE_DEFAULT */
  uint32_t access;        /* halio_memory_access_t bits; HALIO_ACCESS_ALL */
  int zero_initialize;    /* nonzero (default): allocations are zero-filled */
} halio_buffer_params_t;

HALIO_C_API void halio_buffer_params_init(halio_buffer_params_t* params);

/* Drops the caller's reference; operations in flight keep the memory. */
HALIO_C_API void halio_buffer_free(halio_buffer_t* buffer);
/* Bytes; 0 for NULL. */
HALIO_C_API uint64_t halio_buffer_length(const halio_buffer_t* buffer);
HALIO_C_API uint32_t halio_buffer_memory_type(const halio_buffer_t* buffer);
HALIO_C_API uint32_t halio_buffer_access(const halio_buffer_t* buffer);
/* Nonzero unless the buffer is device memory the host cannot map. */
HALIO_C_API int halio_buffer_host_visible(const halio_buffer_t* buffer);

/* Where a buffer in device memory lives, for another runtime of the same
 * device (as halio::DeviceAddress). */
typedef enum halio_device_address_kind_e {
  /* A CUDA device pointer on GPU `ordinal` (the cuda device's buffers). */
  HALIO_DEVICE_ADDRESS_CUDA = 1,
  HALIO_DEVICE_ADDRESS_KIND_MAX_ENUM = 0x7fffffff
} halio_device_address_kind_t;

typedef struct halio_device_address_s {
  uint32_t kind;     /* halio_device_address_kind_t */
  uint32_t ordinal;  /* the device's index among its kind (CUDA's device ordinal) */
  uint64_t address;  /* the buffer's first byte; the host must not dereference it */
} halio_device_address_t;

/* The device's address of the buffer's first byte, to hand device memory to
 * another runtime without a copy (DLPack kDLCUDA, CUDA kernels). Valid while
 * the caller holds the buffer (or a view of its memory) and, for a transient
 * buffer, until dealloca frees it; order accesses through it with the
 * semaphores of halio's operations. Errors: FAILED_PRECONDITION for host
 * memory (halio_buffer_map gives its address) and for memory dealloca freed;
 * UNIMPLEMENTED for device memory other runtimes cannot address
 * (local_discrete's). */
HALIO_C_API halio_status_t halio_buffer_device_address(const halio_buffer_t* buffer,
                                                       halio_device_address_t* out_address);

/* A view of [offset, offset + length) sharing the memory. Errors:
 * OUT_OF_RANGE, RESOURCE_EXHAUSTED. */
HALIO_C_API halio_status_t halio_buffer_subspan(halio_buffer_t* buffer, uint64_t offset,
                                                uint64_t length, halio_buffer_t** out_view);

/* A mapped range of a host-visible buffer. */
typedef struct halio_mapping_s halio_mapping_t;

/* Maps [offset, offset + length) for `access`; the mapping keeps the buffer
 * alive. Errors: PERMISSION_DENIED, OUT_OF_RANGE, FAILED_PRECONDITION
 * (device memory the host cannot map; storage freed by dealloca). */
HALIO_C_API halio_status_t halio_buffer_map(halio_buffer_t* buffer, uint32_t access,
                                            uint64_t offset, uint64_t length,
                                            halio_mapping_t** out_mapping);
HALIO_C_API void* halio_mapping_data(const halio_mapping_t* mapping);
HALIO_C_API size_t halio_mapping_length(const halio_mapping_t* mapping);
/* Ends the mapping (the pointer becomes invalid). NULL does nothing. */
HALIO_C_API void halio_mapping_unmap(halio_mapping_t* mapping);

/* Copies between a host-visible buffer's bytes and caller memory, now.
 * Errors as halio_buffer_map. */
HALIO_C_API halio_status_t halio_buffer_read(halio_buffer_t* buffer, uint64_t offset,
                                             void* data, size_t length);
HALIO_C_API halio_status_t halio_buffer_write(halio_buffer_t* buffer, uint64_t offset,
                                              const void* data, size_t length);

/* ------------------------------------------------------------------------ */
/* Devices and queue operations                                             */
/* ------------------------------------------------------------------------ */

typedef struct halio_device_s halio_device_t;

typedef struct halio_device_options_s {
  size_t struct_size;
  /* local_async family: worker threads; 0 = one per hardware thread. */
  uint32_t worker_count;
  /* File requests one read/write keeps in flight (default 8). */
  uint32_t queue_depth;
  /* Bytes per file request (default 1 MiB). */
  uint64_t chunk_size;
  /* Discrete devices: staging buffers for file <-> device memory, their
   * size and the file requests in flight per transfer (the pool holds one
   * buffer more, for the chunk being copied); 0 = the default. */
  uint64_t staging_buffer_size;
  uint32_t staging_buffer_count;
  /* cuda: the GPU ordinal. */
  uint32_t cuda_device;
} halio_device_options_t;

HALIO_C_API void halio_device_options_init(halio_device_options_t* options);

/* The names halio_device_create accepts here: "local_sync", "local_async",
 * "local_discrete", and "cuda" where halio was built with CUDA and GPU 0 is
 * usable (probed once, on the first call). Writes up to `capacity` names
 * (static storage) to `names` (may be NULL when capacity is 0) and their
 * total number to *out_count. Errors: RESOURCE_EXHAUSTED. */
HALIO_C_API halio_status_t halio_available_devices(const char** names, size_t capacity,
                                                   size_t* out_count);

/* Creates "local_sync", "local_async", "local_discrete" or "cuda". Buffers
 * and bookkeeping come from halio's system allocator. Errors: NOT_FOUND for
 * an unknown name (listing the known ones), UNAVAILABLE (cuda without a GPU,
 * saying why), INVALID_ARGUMENT (zero queue_depth or chunk_size),
 * RESOURCE_EXHAUSTED. */
HALIO_C_API halio_status_t halio_device_create(const char* name,
                                               const halio_device_options_t* options,
                                               halio_device_t** out_device);
/* Destroys the device: asynchronous devices cancel ops still waiting (their
 * signal semaphores fail with CANCELLED) and wait for running ones. Buffers
 * may outlive it. NULL does nothing. */
HALIO_C_API void halio_device_free(halio_device_t* device);
/* "local_sync", ... */
HALIO_C_API const char* halio_device_id(const halio_device_t* device);
/* Blocks until every operation queued so far completed (or failed).
 * Errors: DEADLINE_EXCEEDED. */
HALIO_C_API halio_status_t halio_device_wait_idle(halio_device_t* device, uint64_t timeout_ns);

/* A buffer from the device's allocator: HALIO_MEMORY_DEVICE_LOCAL alone asks
 * for the device's own memory (device memory on discrete devices). Errors:
 * RESOURCE_EXHAUSTED, INVALID_ARGUMENT (no HOST_VISIBLE nor DEVICE_LOCAL). */
HALIO_C_API halio_status_t halio_device_allocate_buffer(halio_device_t* device,
                                                        const halio_buffer_params_t* params,
                                                        uint64_t length,
                                                        halio_buffer_t** out_buffer);
/* Wraps caller memory as a buffer without copying; `release` (may be NULL)
 * runs exactly once when the last reference drops; if this fails it is not
 * called. Errors: OUT_OF_RANGE when `data` is not 64-byte aligned and
 * params->access lacks HALIO_ACCESS_UNALIGNED, RESOURCE_EXHAUSTED. */
HALIO_C_API halio_status_t halio_device_import_buffer(halio_device_t* device,
                                                      const halio_buffer_params_t* params,
                                                      void* data, size_t length,
                                                      halio_release_fn_t release,
                                                      void* user_data,
                                                      halio_buffer_t** out_buffer);

/* Queue operations. Each runs once every `wait` point is reached, then
 * signals every `signal` point; if a wait semaphore failed or the operation
 * fails, the signal semaphores fail instead (waiters get ABORTED carrying
 * the error). Arguments are validated first, as the C++ API does: a bad
 * request returns its error (PERMISSION_DENIED, OUT_OF_RANGE,
 * INVALID_ARGUMENT ...), touches no semaphore and blocks nothing.
 * local_sync runs the op on the calling thread and also returns its error;
 * the other devices return OK once it is queued. The semaphores in the lists
 * need only stay alive for the call. A length of 0 is a barrier. */

/* A transient buffer (zero-filled) usable once `signal` is reached. */
HALIO_C_API halio_status_t halio_queue_alloca(halio_device_t* device,
                                              halio_semaphore_list_t wait,
                                              halio_semaphore_list_t signal,
                                              const halio_buffer_params_t* params,
                                              uint64_t length, halio_buffer_t** out_buffer);
/* Frees a transient buffer's storage once `wait` is reached (a barrier for
 * other buffers). */
HALIO_C_API halio_status_t halio_queue_dealloca(halio_device_t* device,
                                                halio_semaphore_list_t wait,
                                                halio_semaphore_list_t signal,
                                                halio_buffer_t* buffer);
/* Fills with the low `pattern_length` (1, 2 or 4) bytes of `pattern`. */
HALIO_C_API halio_status_t halio_queue_fill(halio_device_t* device, halio_semaphore_list_t wait,
                                            halio_semaphore_list_t signal,
                                            halio_buffer_t* target, uint64_t offset,
                                            uint64_t length, uint32_t pattern,
                                            uint32_t pattern_length);
/* Copies `length` bytes of `data` into the buffer; they are captured before
 * the call returns. */
HALIO_C_API halio_status_t halio_queue_update(halio_device_t* device,
                                              halio_semaphore_list_t wait,
                                              halio_semaphore_list_t signal, const void* data,
                                              size_t length, halio_buffer_t* target,
                                              uint64_t target_offset);
HALIO_C_API halio_status_t halio_queue_copy(halio_device_t* device, halio_semaphore_list_t wait,
                                            halio_semaphore_list_t signal,
                                            halio_buffer_t* source, uint64_t source_offset,
                                            halio_buffer_t* target, uint64_t target_offset,
                                            uint64_t length);
/* File bytes into a buffer. */
HALIO_C_API halio_status_t halio_queue_read(halio_device_t* device, halio_semaphore_list_t wait,
                                            halio_semaphore_list_t signal, halio_file_t* source,
                                            uint64_t source_offset, halio_buffer_t* target,
                                            uint64_t target_offset, uint64_t length);
/* Buffer bytes into a file. */
HALIO_C_API halio_status_t halio_queue_write(halio_device_t* device,
                                             halio_semaphore_list_t wait,
                                             halio_semaphore_list_t signal,
                                             halio_buffer_t* source, uint64_t source_offset,
                                             halio_file_t* target, uint64_t target_offset,
                                             uint64_t length);
HALIO_C_API halio_status_t halio_queue_barrier(halio_device_t* device,
                                               halio_semaphore_list_t wait,
                                               halio_semaphore_list_t signal);

/* ------------------------------------------------------------------------ */
/* Host executables, dispatch and command buffers                           */
/* ------------------------------------------------------------------------ */

typedef struct halio_executable_s halio_executable_t;

/* What a kernel sees for one workgroup. Pointers are valid for the call. */
typedef struct halio_dispatch_state_s {
  uint32_t workgroup_id[3];
  uint32_t workgroup_count[3];
  const uint32_t* push_constants;
  size_t push_constant_count;
  /* The mapped bytes of each binding, in binding order. */
  void* const* bindings;
  const size_t* binding_lengths;
  size_t binding_count;
} halio_dispatch_state_t;

/* Runs one workgroup; returns NULL, or a status (which halio takes and
 * frees) that fails the dispatch: later workgroups are skipped and the
 * signal semaphores fail with it, annotated with the entry point and
 * workgroup. Kernels may run on several threads at once. */
typedef halio_status_t (*halio_kernel_fn_t)(void* user_data,
                                            const halio_dispatch_state_t* state);

typedef struct halio_entry_point_s {
  const char* name;  /* copied */
  halio_kernel_fn_t kernel;
  void* user_data;   /* must stay valid while the executable lives */
} halio_entry_point_t;

/* A table of C kernels that queue_dispatch and command buffers call per
 * workgroup. Errors: INVALID_ARGUMENT (no entry points, an entry without a
 * kernel), RESOURCE_EXHAUSTED. */
HALIO_C_API halio_status_t halio_executable_create(const halio_entry_point_t* entry_points,
                                                   size_t count,
                                                   halio_executable_t** out_executable);
/* Drops the caller's reference; dispatches in flight and command buffers
 * that recorded it keep it. NULL does nothing. */
HALIO_C_API void halio_executable_free(halio_executable_t* executable);

/* A range of a buffer bound to a dispatch; length HALIO_WHOLE_BUFFER: to the
 * end. */
typedef struct halio_buffer_binding_s {
  halio_buffer_t* buffer;
  uint64_t offset;
  uint64_t length;
} halio_buffer_binding_t;

/* Runs `entry_point` for every workgroup of `workgroup_count` (x fastest),
 * with the push constants and bindings (at most 32; copied by the call).
 * Errors at validation: INVALID_ARGUMENT (entry point or binding count),
 * OUT_OF_RANGE, PERMISSION_DENIED, UNIMPLEMENTED (device memory the host
 * cannot map, on discrete devices); a kernel's error fails the signals. */
HALIO_C_API halio_status_t halio_queue_dispatch(
    halio_device_t* device, halio_semaphore_list_t wait, halio_semaphore_list_t signal,
    halio_executable_t* executable, uint32_t entry_point, const uint32_t workgroup_count[3],
    const uint32_t* push_constants, size_t push_constant_count,
    const halio_buffer_binding_t* bindings, size_t binding_count);

/* A recorded list of fill, update, copy and dispatch commands, replayed by
 * halio_queue_execute. Recording (the calls below until finalize) is one
 * thread at a time; a finalized command buffer is immutable and may be
 * executed from several queues at once. Recorded buffers and executables are
 * retained until the command buffer is freed. */
typedef struct halio_command_buffer_s halio_command_buffer_t;

/* Errors: RESOURCE_EXHAUSTED. */
HALIO_C_API halio_status_t halio_command_buffer_create(halio_command_buffer_t** out);
/* Drops the caller's reference (executions in flight keep it). */
HALIO_C_API void halio_command_buffer_free(halio_command_buffer_t* command_buffer);
/* Each records one command, validated now as the queue op would be; on error
 * nothing is recorded. Errors: FAILED_PRECONDITION after finalize, and the
 * queue op's validation errors. Update copies `data` now. */
HALIO_C_API halio_status_t halio_command_buffer_fill(halio_command_buffer_t* command_buffer,
                                                     halio_buffer_t* target, uint64_t offset,
                                                     uint64_t length, uint32_t pattern,
                                                     uint32_t pattern_length);
HALIO_C_API halio_status_t halio_command_buffer_update(halio_command_buffer_t* command_buffer,
                                                       const void* data, size_t length,
                                                       halio_buffer_t* target,
                                                       uint64_t target_offset);
HALIO_C_API halio_status_t halio_command_buffer_copy(halio_command_buffer_t* command_buffer,
                                                     halio_buffer_t* source,
                                                     uint64_t source_offset,
                                                     halio_buffer_t* target,
                                                     uint64_t target_offset, uint64_t length);
HALIO_C_API halio_status_t halio_command_buffer_dispatch(
    halio_command_buffer_t* command_buffer, halio_executable_t* executable,
    uint32_t entry_point, const uint32_t workgroup_count[3], const uint32_t* push_constants,
    size_t push_constant_count, const halio_buffer_binding_t* bindings, size_t binding_count);
/* Ends recording. Errors: FAILED_PRECONDITION if already finalized. */
HALIO_C_API halio_status_t halio_command_buffer_finalize(halio_command_buffer_t* command_buffer);
/* Replays a finalized command buffer, in order, stopping at the first
 * failing command (its error, annotated with the command's index, fails the
 * signals). Errors: FAILED_PRECONDITION when not finalized. */
HALIO_C_API halio_status_t halio_queue_execute(halio_device_t* device,
                                               halio_semaphore_list_t wait,
                                               halio_semaphore_list_t signal,
                                               halio_command_buffer_t* command_buffer);

/* ------------------------------------------------------------------------ */
/* Parameter index                                                          */
/* ------------------------------------------------------------------------ */

typedef struct halio_index_s halio_index_t;

/* Indexes safetensors, sharded `*.safetensors.index.json` and GGUF files,
 * reading headers only; several paths make one index (a tensor name in two
 * of them is INVALID_ARGUMENT naming both files). Errors: those of opening
 * the files (NOT_FOUND ... naming the path), INVALID_ARGUMENT / OUT_OF_RANGE
 * from the parsers naming the file and tensor or key. */
HALIO_C_API halio_status_t halio_index_open(const char* const* paths, size_t path_count,
                                            halio_index_t** out_index);
/* Frees the index; loads from it must be freed first (their names point
 * into it). NULL does nothing. */
HALIO_C_API void halio_index_free(halio_index_t* index);
/* Tensors (in file order, then offset order) and files. */
HALIO_C_API size_t halio_index_tensor_count(const halio_index_t* index);
HALIO_C_API size_t halio_index_file_count(const halio_index_t* index);
/* The i-th file's path, or NULL past the end. */
HALIO_C_API const char* halio_index_file_path(const halio_index_t* index, size_t i);

typedef struct halio_tensor_info_s {
  size_t struct_size;
  const char* name;     /* valid while the index lives */
  const char* dtype;    /* the format's name: "F32", "BF16", "Q4_K" */
  size_t rank;
  const uint64_t* shape; /* rank dims, row-major, outermost first */
  size_t file_index;    /* into halio_index_file_path */
  const char* file;     /* the file's path */
  uint64_t offset;      /* absolute byte offset in the file */
  uint64_t size;        /* bytes */
} halio_tensor_info_t;

/* Fills `info` (whose struct_size the caller set, e.g. to sizeof) for the
 * i-th tensor. Errors: OUT_OF_RANGE past the last tensor. */
HALIO_C_API halio_status_t halio_index_tensor(const halio_index_t* index, size_t i,
                                              halio_tensor_info_t* info);
/* The position of the tensor named exactly `name`. Errors: NOT_FOUND. */
HALIO_C_API halio_status_t halio_index_find(const halio_index_t* index, const char* name,
                                            size_t* out_i);

/* ------------------------------------------------------------------------ */
/* Loading                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct halio_load_progress_s {
  uint64_t bytes_done;
  uint64_t bytes_total;
  size_t tensors_done;
  size_t tensors_total;
} halio_load_progress_t;

/* Called on the loading thread after each completed read, and at the end. */
typedef void (*halio_progress_fn_t)(void* user_data, const halio_load_progress_t* progress);
/* Asked on the loading thread between reads: nonzero cancels the load (it
 * queues no more reads, waits for those in flight, and fails with
 * CANCELLED). */
typedef int (*halio_cancel_fn_t)(void* user_data);

typedef struct halio_load_options_s {
  size_t struct_size;
  /* Shell globs (fnmatch) of tensor names; none (0) loads all. */
  const char* const* select;
  size_t select_count;
  /* Memory type of the arena: HALIO_MEMORY_DEVICE_LOCAL (default) is the
   * device's own memory; HALIO_MEMORY_HOST loads into host memory. */
  uint32_t memory_type;
  /* Files' backend and O_DIRECT, as halio_file_options_t. */
  halio_backend_t backend;
  int direct;
  /* Nonzero: where the arena would be host memory, map the files instead of
   * reading them: each tensor is a read-only view (HALIO_ACCESS_READ) of a
   * private read-only mapping, no copy, pages read on first touch (a file
   * truncated by someone else while mapped faults with SIGBUS on the lost
   * pages). Device memory is read as usual. `direct` then does not apply. */
  int map;
  /* 0 = defaults (256 MiB queued, 64 MiB per coalesced read). */
  uint64_t max_inflight_bytes;
  uint64_t max_read_bytes;
  halio_progress_fn_t progress;
  void* progress_user_data;
  halio_cancel_fn_t cancel;
  void* cancel_user_data;
  /* Files already open, one per index file in halio_index_file_path order
   * (file_count must match); none (0) opens them by path. Tensors of memory
   * files become views of that memory, without a copy, unless the arena is
   * device memory the host cannot map. */
  halio_file_t* const* files;
  size_t file_count;
} halio_load_options_t;

HALIO_C_API void halio_load_options_init(halio_load_options_t* options);

typedef struct halio_loaded_s halio_loaded_t;

/* Loads the selected tensors of `index` into `device`'s memory, one arena.
 * Either every selected tensor is read completely or the load fails.
 * Errors: NOT_FOUND when a select glob matches nothing (naming it),
 * CANCELLED ("load cancelled after N of M bytes"), RESOURCE_EXHAUSTED for the
 * arena, INVALID_ARGUMENT, with map DATA_LOSS (a tensor past its file's end)
 * and UNIMPLEMENTED (a file that cannot be mapped), and any open or read
 * error annotated with the tensors, the file and the byte range. The index
 * must outlive the load's handle. */
HALIO_C_API halio_status_t halio_load(halio_device_t* device, const halio_index_t* index,
                                      const halio_load_options_t* options,
                                      halio_loaded_t** out_loaded);
/* Frees the load's handle; tensor buffers taken with halio_loaded_tensor
 * keep their memory. NULL does nothing. */
HALIO_C_API void halio_loaded_free(halio_loaded_t* loaded);
HALIO_C_API size_t halio_loaded_count(const halio_loaded_t* loaded);
/* Tensor bytes loaded. */
HALIO_C_API uint64_t halio_loaded_bytes(const halio_loaded_t* loaded);
/* Nonzero when tensors are views of file mappings (options->map). */
HALIO_C_API int halio_loaded_mapped(const halio_loaded_t* loaded);
/* The i-th loaded tensor (index order): its name (valid while the index
 * lives; out_name may be NULL) and a new handle to its buffer (exactly the
 * tensor's bytes; out_buffer may be NULL; the caller frees it). Errors:
 * OUT_OF_RANGE past the last. */
HALIO_C_API halio_status_t halio_loaded_tensor(const halio_loaded_t* loaded, size_t i,
                                               const char** out_name,
                                               halio_buffer_t** out_buffer);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif  /* HALIO_HALIO_H_ */
