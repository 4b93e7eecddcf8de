//! The binary's allocator: mimalloc, asked for an alignment only when a layout needs more than
//! every mimalloc block already has.
//!
//! The `mimalloc` crate's allocator hands every request to `mi_malloc_aligned`, alignment 1 or 8
//! included. In mimalloc's v3 line that call has a fast path only for blocks of up to 1 KiB;
//! above that it takes the plain path only when the block is a power of two in size, and
//! otherwise over-allocates to make room for aligning. Boxed request futures are larger than
//! 1 KiB: under the status load that was about ten allocations per request and 6 % of its
//! instructions (BENCHMARKS.md, eleventh round).
//!
//! A mimalloc block is a whole number of machine words (its size classes count words) and the
//! first block of a page starts on a 16-byte boundary, so every block is word-aligned: a layout
//! asking for no more than that takes `mi_malloc`, which is what a C program's `malloc` is.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys::{
    mi_free, mi_malloc, mi_malloc_aligned, mi_realloc, mi_realloc_aligned, mi_zalloc,
    mi_zalloc_aligned,
};

/// The alignment every mimalloc block has, whatever its size class.
const EVERY_BLOCK_ALIGN: usize = std::mem::size_of::<usize>();

pub struct Mimalloc;

fn plain(align: usize) -> bool {
    align <= EVERY_BLOCK_ALIGN
}

// SAFETY: each method forwards to the mimalloc call for the same job, with the layout's size and,
// where a plain block would not do, its alignment; `mi_free` takes any pointer mimalloc returned.
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let block = if plain(layout.align()) {
            unsafe { mi_malloc(layout.size()) }
        } else {
            unsafe { mi_malloc_aligned(layout.size(), layout.align()) }
        };
        block.cast()
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let block = if plain(layout.align()) {
            unsafe { mi_zalloc(layout.size()) }
        } else {
            unsafe { mi_zalloc_aligned(layout.size(), layout.align()) }
        };
        block.cast()
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        unsafe { mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let block = if plain(layout.align()) {
            unsafe { mi_realloc(ptr.cast::<c_void>(), new_size) }
        } else {
            unsafe { mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()) }
        };
        block.cast()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sizes around every boundary the reasoning above leans on: the word-sized classes, the odd
    /// classes between powers of two, the 1 KiB end of the small path, and large blocks.
    fn sizes() -> impl Iterator<Item = usize> {
        (1..=300)
            .chain((1000..1100).step_by(7))
            .chain([4095, 4096, 4097, 70_000, 1 << 20])
    }

    #[test]
    fn every_layout_gets_its_alignment_and_its_bytes() {
        let aligns = [1, 2, 4, 8, 16, 32, 64, 128, 4096];
        let mut live = Vec::new();
        for size in sizes() {
            for align in aligns {
                let layout = Layout::from_size_align(size, align).expect("layout");
                // Held until the end, so each allocation comes from a page already in use.
                let block = unsafe { Mimalloc.alloc(layout) };
                assert!(!block.is_null(), "size {size} align {align}");
                assert_eq!(block as usize % align, 0, "size {size} align {align}");
                unsafe { block.write_bytes(0xA5, size) };
                live.push((block, layout));
            }
        }
        for (block, layout) in live {
            let last = unsafe { block.add(layout.size() - 1).read() };
            assert_eq!(last, 0xA5, "{layout:?} was overwritten");
            unsafe { Mimalloc.dealloc(block, layout) };
        }
    }

    #[test]
    fn zeroed_blocks_are_zero_and_aligned() {
        for size in sizes() {
            for align in [1, 8, 16, 64] {
                let layout = Layout::from_size_align(size, align).expect("layout");
                let block = unsafe { Mimalloc.alloc_zeroed(layout) };
                assert!(!block.is_null());
                assert_eq!(block as usize % align, 0, "size {size} align {align}");
                let bytes = unsafe { std::slice::from_raw_parts(block, size) };
                assert!(bytes.iter().all(|&b| b == 0), "size {size} align {align}");
                unsafe { Mimalloc.dealloc(block, layout) };
            }
        }
    }

    #[test]
    fn realloc_keeps_the_contents_and_the_alignment() {
        for align in [1, 8, 16, 128] {
            let layout = Layout::from_size_align(24, align).expect("layout");
            let mut block = unsafe { Mimalloc.alloc(layout) };
            let mut size = 24;
            unsafe { block.write_bytes(0x5A, size) };
            for new_size in [40, 72, 1030, 5000, 100_000, 17] {
                let old = Layout::from_size_align(size, align).expect("layout");
                block = unsafe { Mimalloc.realloc(block, old, new_size) };
                assert!(!block.is_null());
                assert_eq!(
                    block as usize % align,
                    0,
                    "{size} -> {new_size}, align {align}"
                );
                let kept = size.min(new_size);
                let bytes = unsafe { std::slice::from_raw_parts(block, kept) };
                assert!(bytes.iter().all(|&b| b == 0x5A), "{size} -> {new_size}");
                unsafe { block.write_bytes(0x5A, new_size) };
                size = new_size;
            }
            let layout = Layout::from_size_align(size, align).expect("layout");
            unsafe { Mimalloc.dealloc(block, layout) };
        }
    }
}
