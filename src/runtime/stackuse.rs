//! How much of a goroutine's stack is in use: the pages of its mapping that are
//! committed (resident), as the kernel reports them (`mincore`). Stacks are lazily
//! committed mappings (stack.rs), so this is the deepest the goroutine went since
//! the stack was made or last released, rounded to pages: what a user needs to size
//! stacks from data. For gs_dump, which may cost O(goroutines).

/// Bytes committed in `[lo, hi)` (page-aligned bounds of a stack mapping), or None if
/// the kernel cannot tell (the range is no longer mapped: the goroutine ended).
pub(crate) fn committed(lo: usize, hi: usize) -> Option<usize> {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as usize;
    if hi <= lo || lo % page != 0 {
        return None;
    }
    let n = (hi - lo).div_ceil(page);
    let mut vec = vec![0u8; n];
    // SAFETY: vec has one byte per page of the range; mincore only writes there and
    // fails with ENOMEM, touching nothing, if the range is not mapped.
    let rc = unsafe { libc::mincore(lo as *mut libc::c_void, hi - lo, vec.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    Some(vec.iter().filter(|&&b| b & 1 != 0).count() * page)
}
