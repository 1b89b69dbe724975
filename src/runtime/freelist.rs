//! The free lists of dead Gs and of default-size stacks (Go's gFree and stack
//! caches): a small cache per P, touched only by the P's owner, over one global list
//! with a lock of its own.
//!
//! A P takes from its cache, refilling it with up to `BATCH` entries from the global
//! list when it is empty. It puts into its cache; once that holds `LOCAL_MAX`, the
//! oldest `LOCAL_MAX - BATCH` move to the global list and the most recently freed
//! (cache-warm) ones stay. A party without a P (the host runner) uses the global list
//! directly. `len` mirrors the global list's length, so that looking at an empty list
//! takes no lock.
//!
//! A `fixed` list never allocates in `put`: its capacity is reserved beforehand
//! (`reserve`, as G slots are made: a G is freed on g0, where allocating is not an
//! option), and a put beyond it is a fatal error. Lock order: `sched.lock` before a
//! free list's lock (`reserve_gslots`); a free list's lock is never held while
//! taking another lock.

use super::lock::Mutex;
use crate::error::{Error, Result};
use core::sync::atomic::{AtomicUsize, Ordering::*};

/// A P's cache holds at most this many entries; a refill or a spill moves `BATCH`
/// (Go: 64 and 32).
pub(crate) const LOCAL_MAX: usize = 64;
pub(crate) const BATCH: usize = 32;

pub(crate) struct FreeList<T> {
    global: Mutex<Vec<T>>,
    len: AtomicUsize,
    fixed: bool,
}

impl<T> FreeList<T> {
    pub(crate) const fn new(fixed: bool) -> FreeList<T> {
        FreeList { global: Mutex::new(Vec::new()), len: AtomicUsize::new(0), fixed }
    }

    /// Takes an entry: from `local` (the caller's P's cache, refilled from the global
    /// list when empty), or from the global list when the caller has no P.
    #[inline]
    pub(crate) fn get(&self, local: Option<&mut Vec<T>>) -> Option<T> {
        match local {
            Some(l) => {
                if l.is_empty() && self.len.load(Relaxed) != 0 {
                    let mut g = self.global.lock();
                    let at = g.len().saturating_sub(BATCH);
                    l.extend(g.drain(at..));
                    self.len.store(g.len(), Relaxed);
                }
                l.pop()
            }
            None => {
                if self.len.load(Relaxed) == 0 {
                    return None;
                }
                let mut g = self.global.lock();
                let v = g.pop();
                self.len.store(g.len(), Relaxed);
                v
            }
        }
    }

    /// Puts an entry into `local` (spilling its oldest part to the global list when
    /// full), or into the global list when the caller has no P.
    #[inline]
    pub(crate) fn put(&self, local: Option<&mut Vec<T>>, v: T) {
        match local {
            Some(l) => {
                l.push(v);
                if l.len() >= LOCAL_MAX {
                    let mut g = self.global.lock();
                    self.check_room((g.len(), g.capacity()), LOCAL_MAX - BATCH);
                    g.extend(l.drain(..LOCAL_MAX - BATCH));
                    self.len.store(g.len(), Relaxed);
                }
            }
            None => {
                let mut g = self.global.lock();
                self.check_room((g.len(), g.capacity()), 1);
                g.push(v);
                self.len.store(g.len(), Relaxed);
            }
        }
    }

    /// A fixed list must have room for `n` more in `g` (len, capacity).
    fn check_room(&self, (len, cap): (usize, usize), n: usize) {
        if self.fixed && len + n > cap {
            super::throw::fatal("freelist: more dead Gs than G slots reserved");
        }
    }

    /// Makes the global list able to hold `total` entries without allocating in
    /// `put`; returns the room it has. `NoMem` if that much memory is not available.
    pub(crate) fn reserve(&self, total: usize) -> Result<usize> {
        let mut g = self.global.lock();
        let more = total.saturating_sub(g.len());
        g.try_reserve(more).map_err(|_| Error::NoMem)?;
        Ok(g.capacity())
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_full_cache_spills_its_oldest_and_an_empty_one_refills() {
        let fl: FreeList<usize> = FreeList::new(false);
        let mut local = Vec::new();
        for i in 0..LOCAL_MAX {
            fl.put(Some(&mut local), i);
        }
        // The oldest LOCAL_MAX - BATCH went global; the newest stayed.
        assert_eq!(local, (LOCAL_MAX - BATCH..LOCAL_MAX).collect::<Vec<_>>());
        assert_eq!(fl.len.load(Relaxed), LOCAL_MAX - BATCH);
        let mut other = Vec::new();
        let v = fl.get(Some(&mut other)).unwrap();
        assert_eq!(other.len(), BATCH - 1);
        assert!(v < LOCAL_MAX - BATCH);
        // Without a P: straight from the global list.
        let mut n = 0;
        while fl.get(None).is_some() {
            n += 1;
        }
        assert_eq!(n, LOCAL_MAX - BATCH - BATCH);
        assert_eq!(fl.len.load(Relaxed), 0);
        assert!(fl.get(None).is_none());
    }

    #[test]
    fn a_fixed_list_has_the_room_it_reserved() {
        let fl: FreeList<u32> = FreeList::new(true);
        let room = fl.reserve(100).unwrap();
        assert!(room >= 100);
        for i in 0..100 {
            fl.put(None, i);
        }
        assert_eq!(fl.len.load(Relaxed), 100);
    }
}
