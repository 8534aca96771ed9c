//! Hand-written CPU kernels for the encoder's inference path: matrix products in f32
//! ([`gemm`]) and int8 ([`int8`]), row-wise operations such as layer norm, GELU and softmax
//! ([`ops`]) and self-attention over unpadded sequences ([`attention`]).
//!
//! Every kernel has an AVX2 + FMA version (x86-64, chosen at run time) and a portable
//! version that gives the same results to rounding. Each row of an output depends only
//! on the same row of the inputs (and, in attention, on its own sequence), computed in
//! the same order wherever it sits in a batch: batching never changes a result.

pub mod attention;
pub mod gemm;
pub mod int8;
pub mod ops;
#[cfg(test)]
mod testing;

use std::sync::OnceLock;

/// The instruction set a kernel runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// x86-64 with AVX2 and FMA.
    Avx2,
    /// Plain Rust, for any CPU.
    Portable,
}

impl Isa {
    /// The best instruction set of the running CPU (detected once).
    pub fn detect() -> Isa {
        static DETECTED: OnceLock<Isa> = OnceLock::new();
        *DETECTED.get_or_init(|| {
            #[cfg(target_arch = "x86_64")]
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                return Isa::Avx2;
            }
            Isa::Portable
        })
    }

    /// The instruction sets this CPU can run, best first (for tests and benches).
    pub fn available() -> Vec<Isa> {
        match Isa::detect() {
            Isa::Avx2 => vec![Isa::Avx2, Isa::Portable],
            Isa::Portable => vec![Isa::Portable],
        }
    }
}
