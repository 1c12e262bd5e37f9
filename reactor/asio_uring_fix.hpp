// Force-included before every translation unit that can see Asio (CMake:
// rusty_reactor's PUBLIC compile options), to work around a bug of Asio
// 1.81's io_uring backend with liburing 2.3 (both Debian 12's).
//
// Asio prepares its cancel and timeout-remove requests with
// io_uring_prep_cancel() / io_uring_prep_timeout_remove() and never sets
// their user_data. liburing's prep functions do not clear it either, so the
// request keeps the user_data of whatever request last used that submission
// slot: a pointer to some other I/O object's queue. The kernel's answer to
// the cancel (0, -ENOENT, -EALREADY) is then delivered to that queue as if it
// were its operation's result. Seen here: a log file write "failing" with
// ENOENT while health checks and restarts cancelled their waits, and an
// accept whose cancellation left the io_context with work it never finished.
//
// The fix: those requests carry user_data 0 (which Asio's completion loop
// ignores), or for timeout_remove the timespec Asio compares it with. Later
// Asio releases set it themselves.
#pragma once

#ifdef __cplusplus
#include <liburing.h>

static inline void rusty_io_uring_prep_cancel(struct io_uring_sqe* sqe, void* user_data, int flags) {
    io_uring_prep_cancel(sqe, user_data, flags);
    io_uring_sqe_set_data(sqe, nullptr);
}

static inline void rusty_io_uring_prep_timeout_remove(struct io_uring_sqe* sqe, __u64 user_data, unsigned flags) {
    io_uring_prep_timeout_remove(sqe, user_data, flags);
    io_uring_sqe_set_data64(sqe, user_data);  // Asio counts its answer as the timeout's own
}

// Asio 1.81 sizes its ring at a fixed 16384 submission entries (32768
// completion entries): 1.5 MiB of rings, which Asio walks through in turn,
// so that all of it ends up in the supervisor's RSS (500 idle containers:
// 19.8 MiB with it, 18.4 MiB with 1024 entries). Asio submits and retries
// when the submission queue is full, and the kernel keeps completions that
// overflow (IORING_FEAT_NODROP), so a smaller ring only batches less.
#define RUSTY_IO_URING_ENTRIES 1024U
static inline int rusty_io_uring_queue_init(unsigned entries, struct io_uring* ring, unsigned flags) {
    return io_uring_queue_init(entries < RUSTY_IO_URING_ENTRIES ? entries : RUSTY_IO_URING_ENTRIES, ring, flags);
}

#define io_uring_prep_cancel rusty_io_uring_prep_cancel
#define io_uring_prep_timeout_remove rusty_io_uring_prep_timeout_remove
#define io_uring_queue_init rusty_io_uring_queue_init
#endif
