#pragma once
// The deputy's half of syscall forwarding: executes one forwarded syscall of
// the body in the deputy's own context (its fd table, cwd, credentials, PID)
// with local copies of the body's buffers, and answers with the raw result and
// the outputs the body must receive. See common/forward.proto for the request
// and reply, and remote/Marshal.h for the supervisor's half.
//
// The request is never trusted: it may come from a buggy or hostile peer.
// Every size is bounded before anything is allocated (wire::MAX_REQUEST_BYTES
// in all, wire::MAX_BUFFER_BYTES per buffer), argument indices are validated,
// lengths the kernel takes from other arguments are checked against the local
// allocations, and calls that act on the caller's own address space, threads
// or life (mmap, clone, exit, rt_sigreturn...) are never run. A refused request
// answers -EINVAL (malformed), -ENOMEM (too large) or -ENOSYS (never run).
//
// Known limit: the executor cannot know, without the syscall table, which
// scalar arguments the kernel dereferences; an argument the supervisor passes
// by value is used as it is. The supervisor's table is what keeps body
// addresses from reaching the deputy's kernel.

#include <cstdint>

#include "common/forward.pb.h"

namespace mos::home {

// Runs request.nr with the request's arguments in the calling thread and
// returns the reply (same id). Blocking calls block the calling thread: a
// signal delivered to it interrupts them (the reply then carries -EINTR, or
// the kernel restarts the call per SA_RESTART). Never throws for a bad
// request; the body's death is no concern here (the reply is simply dropped).
wire::SyscallReply execute(const wire::SyscallRequest& request);

}  // namespace mos::home
