//! Fatal errors (Go's `throw`): a broken invariant of the runtime prints a message
//! naming the function and what broke, then aborts. Never used for bad user input,
//! which gets an error code.

/// Prints `fatal error: <msg>` to stderr and aborts the process.
#[cold]
pub(crate) fn fatal(msg: &str) -> ! {
    let line = format!("gosched: fatal error: {msg}\n");
    // SAFETY: write(2) of a valid buffer to fd 2.
    unsafe { libc::write(2, line.as_ptr().cast(), line.len()) };
    std::process::abort();
}
