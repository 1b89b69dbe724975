//! How the C API's option structs (gs_config, gs_go_opts) grow without breaking the
//! binaries built against an older header.
//!
//! # Growing the public structs
//!
//! The fields of version 0.1 are fixed: never removed, moved or retyped. A struct
//! grows only at its end, each new field at an offset at or past the struct's sizeof
//! in the version before (never into its tail padding), with 0 as its default.
//!
//! The functions of 0.1 that take one (gs_init, gs_go_with, gs_go_copy_with) read its
//! 0.1 fields and nothing past them, whatever header the caller was built against: a
//! binary built against the 0.1 header passes a struct that ends there. Each has a
//! `_sized` twin that takes the caller's `sizeof` as well (gs_init_sized,
//! gs_go_with_sized, gs_go_copy_with_sized), which reads:
//!
//! - a size below the end of the 0.1 fields, or above `MAX_STRUCT_SIZE`: nothing;
//!   GS_EINVAL.
//! - a size up to the library's sizeof (an older caller): that many bytes; the
//!   fields past them take their defaults.
//! - a larger size (a caller newer than the library): the bytes the library knows,
//!   and every byte past them must be zero, i.e. the newer fields left at their
//!   defaults, which this library gives anyway; a non-zero one asks for something
//!   this library cannot do: GS_EINVAL.
//!
//! These are the rules of Linux's extensible system-call structs (`open_how` of
//! openat2, `clone_args` of clone3: `copy_struct_from_user`), which pass the size
//! as an argument too. The size is an argument, not a field or a flag, so that the
//! 0.1 structs stay as they are (initializers written against them stay complete)
//! and no flag value a 0.1 caller could set makes the library read past its struct.

use crate::error::{Error, Result};

/// Largest size accepted: a garbage size must not make the library scan memory far
/// past the caller's struct. (Linux caps its structs at a page too.)
pub(crate) const MAX_STRUCT_SIZE: usize = 4096;

/// A `#[repr(C)]` option struct of the C API that grows by the rule above.
///
/// # Safety
///
/// `BASE_LEN` is the end of the 0.1 fields, at most `size_of::<Self>()`, and every
/// bit pattern of a `Self` is valid (integers and raw pointers only).
pub(crate) unsafe trait Extensible: Copy {
    /// Bytes of the 0.1 fields (without the tail padding).
    const BASE_LEN: usize;
}

/// Reads the caller's `*p` by the rule of *Growing the public structs*: `size` is
/// the caller's sizeof, or None for the 0.1 functions (the 0.1 fields only). The
/// fields the caller's struct does not have are zero (their defaults).
///
/// # Safety
///
/// `p` is non-NULL and points to `size` readable bytes (`T::BASE_LEN` with None):
/// the caller's struct (the API contract).
pub(crate) unsafe fn read_struct<T: Extensible>(p: *const T, size: Option<usize>) -> Result<T> {
    let len = match size {
        None => T::BASE_LEN,
        Some(n) if n < T::BASE_LEN || n > MAX_STRUCT_SIZE => return Err(Error::Inval),
        Some(n) => n,
    };
    let base = p.cast::<u8>();
    let known = core::mem::size_of::<T>();
    if len > known {
        // SAFETY: the caller's struct is `len` bytes long (its size).
        let newer = unsafe { core::slice::from_raw_parts(base.add(known), len - known) };
        if newer.iter().any(|&b| b != 0) {
            return Err(Error::Inval);
        }
    }
    // SAFETY: every bit pattern, zero included, is a valid T (the trait's contract).
    let mut out: T = unsafe { core::mem::zeroed() };
    // SAFETY: min(len, known) bytes are readable at `base` (the caller's struct) and
    // writable in `out`, a local that does not overlap it.
    unsafe { core::ptr::copy_nonoverlapping(base, (&mut out as *mut T).cast::<u8>(), len.min(known)) };
    Ok(out)
}
