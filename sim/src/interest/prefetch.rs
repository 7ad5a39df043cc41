//! Software prefetch hints. The observer pass is bound by memory latency: each observer's
//! state and the world data around its avatar are out of cache by the time its turn
//! comes, so the pass asks for the next observers' data ahead of time (see
//! [`Interest::update`](super::Interest::update)).

/// Asks the CPU to start loading the first `lines` cache lines of `data` (fewer when it is
/// shorter). A hint only: it changes no result.
#[allow(unsafe_code)]
pub(crate) fn lines<T>(data: &[T], lines: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let bytes = std::mem::size_of_val(data);
        let base = data.as_ptr().cast::<i8>();
        for k in 0..lines.min(bytes.div_ceil(64)) {
            // SAFETY: a prefetch is a hint; it never faults and reads nothing visible.
            // The address lies within `data` anyway.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(base.wrapping_add(k * 64)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (data, lines);
}

/// Asks the CPU to start loading `item` at `index` of `data`, if there is one.
pub(crate) fn at<T>(data: &[T], index: usize) {
    if let Some(item) = data.get(index) {
        lines(std::slice::from_ref(item), 1);
    }
}
