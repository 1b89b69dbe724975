//! Blocking calls: gs_entersyscall, gs_exitsyscall,
//! gs_entersyscallblock. Off-goroutine they do nothing.

use super::ffi_boundary;
use crate::runtime::entry;

/// About to block in a call the runtime cannot see: the P may be handed to another
/// thread while the call lasts, so other goroutines keep running.
#[no_mangle]
pub extern "C" fn gs_entersyscall() {
    ffi_boundary!((), { entry::entersyscall_any(false) })
}

/// Back from the blocking call: continues on this thread once it has a P again.
#[no_mangle]
pub extern "C" fn gs_exitsyscall() {
    ffi_boundary!((), { entry::exitsyscall_any() })
}

/// Known to block long: hands the P to another thread at once.
#[no_mangle]
pub extern "C" fn gs_entersyscallblock() {
    ffi_boundary!((), { entry::entersyscall_any(true) })
}
