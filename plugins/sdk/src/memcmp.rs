//! A `memcmp` that compares words rather than bytes, for Wasm builds.
//!
//! Rust lowers every byte-slice comparison (string equality in Arrow's
//! kernels, sorting, hashing's equality checks) to `memcmp` or `bcmp`, and
//! the C library a `wasm32-wasip2` build links compares one byte per step.
//! In `perf` that byte loop was the expectations plugin's largest cost. A
//! plugin built with this SDK gets this definition instead: the linker
//! takes the first archive that defines a symbol, and the SDK's comes
//! before the C library's.

/// `memcmp`'s contract: the sign of the first differing byte (as unsigned)
/// of `a` against `b`, 0 when the `n` bytes are equal.
///
/// # Safety
/// `a` and `b` must be readable for `n` bytes. Nothing here may call
/// `memcmp` itself (no slice comparisons), or it would recurse.
///
/// Words are read big-endian, whose order is the order of their bytes.
/// Inputs of 4 bytes or more end with one word read overlapping the last
/// one compared: the bytes they share are equal, so the first difference
/// still decides. Strings compared against literals (`operation =
/// 'DELETE'`) are mostly under 16 bytes, and take two reads.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(crate) unsafe fn compare_bytes(a: *const u8, b: *const u8, n: usize) -> i32 {
    fn order<T: Ord>(x: T, y: T) -> i32 {
        match x.cmp(&y) {
            std::cmp::Ordering::Less => -1,
            std::cmp::Ordering::Equal => 0,
            std::cmp::Ordering::Greater => 1,
        }
    }
    // SAFETY (every read below): it lies within the first n bytes, which
    // the caller guarantees are readable.
    unsafe {
        match n {
            0..4 => {
                for i in 0..n {
                    let (x, y) = (*a.add(i), *b.add(i));
                    if x != y {
                        return i32::from(x) - i32::from(y);
                    }
                }
                0
            }
            4..8 => {
                let word = |p: *const u8| u32::from_be(p.cast::<u32>().read_unaligned());
                match order(word(a), word(b)) {
                    0 => order(word(a.add(n - 4)), word(b.add(n - 4))),
                    decided => decided,
                }
            }
            _ => {
                let word = |p: *const u8| u64::from_be(p.cast::<u64>().read_unaligned());
                let mut i = 0;
                while i + 8 < n {
                    let (x, y) = (word(a.add(i)), word(b.add(i)));
                    if x != y {
                        return order(x, y);
                    }
                    i += 8;
                }
                order(word(a.add(n - 8)), word(b.add(n - 8)))
            }
        }
    }
}

#[cfg(target_arch = "wasm32")]
mod exported {
    /// # Safety
    /// As C's `memcmp`.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
        // SAFETY: the caller keeps memcmp's contract.
        unsafe { super::compare_bytes(a, b, n) }
    }

    /// # Safety
    /// As C's `bcmp` (zero when equal).
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
        // SAFETY: the caller keeps bcmp's contract.
        unsafe { super::compare_bytes(a, b, n) }
    }
}

#[cfg(test)]
mod tests {
    use super::compare_bytes;

    fn sign(a: &[u8], b: &[u8]) -> i32 {
        assert_eq!(a.len(), b.len());
        // SAFETY: both slices hold a.len() bytes.
        unsafe { compare_bytes(a.as_ptr(), b.as_ptr(), a.len()) }.signum()
    }

    #[test]
    fn compares_as_unsigned_bytes_in_order() {
        let mut seed = 7u64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as u8
        };
        for len in 0..40 {
            for _ in 0..200 {
                let a: Vec<u8> = (0..len).map(|_| next() % 4 * 85).collect();
                let mut b = a.clone();
                if len > 0 && next() % 3 > 0 {
                    let at = usize::from(next()) % len;
                    b[at] = next();
                }
                let expected = a.cmp(&b) as i32;
                assert_eq!(sign(&a, &b), expected, "{a:?} {b:?}");
                assert_eq!(sign(&b, &a), -expected);
            }
        }
        assert_eq!(sign(b"DELETE", b"DELETE"), 0);
        assert_eq!(sign(b"DELETE", b"INSERT"), -1);
        assert_eq!(sign(b"\x00\xff", b"\x01\x00"), -1);
        assert_eq!(sign(&[0x80; 9], &[0x7f; 9]), 1);
    }
}
