//! Blocking calls: gs_entersyscall, gs_exitsyscall,
//! gs_entersyscallblock. Off-goroutine they do nothing.

use crate::runtime::entry::{self, Caller};
use crate::runtime::syscall;

/// About to block in a call the runtime cannot see: the P may be handed to another
/// thread while the call lasts, so other goroutines keep running.
#[no_mangle]
pub extern "C" fn gs_entersyscall() {
    if let Caller::Goroutine(m, g) = entry::caller() {
        syscall::entersyscall(m, g);
    }
}

/// Back from the blocking call: continues on this thread once it has a P again.
#[no_mangle]
pub extern "C" fn gs_exitsyscall() {
    if let Caller::Goroutine(m, g) = entry::caller() {
        syscall::exitsyscall(m, g);
    }
}

/// Known to block long: hands the P to another thread at once.
#[no_mangle]
pub extern "C" fn gs_entersyscallblock() {
    if let Caller::Goroutine(m, g) = entry::caller() {
        syscall::entersyscallblock(m, g);
    }
}
