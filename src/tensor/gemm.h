// Dense F32 matrix products for training, where both operands are
// activations or dequantized weights: C = alpha·op(A)·op(B) + beta·C, all
// row-major, op = identity or transpose. Backed by OpenBLAS's sgemm (tuned
// per CPU, its own threads); gemm_f32_reference is the plain triple loop the
// tests compare it with.
// Thread-safety: gemm_f32 may be called from one thread at a time (OpenBLAS
// runs its own worker threads); set_gemm_threads sets how many.
#pragma once

#include <cstdint>

namespace officina {

enum class Transpose : uint8_t { No, Yes };

// op(A) is [m, k], op(B) is [k, n], C is [m, n]; lda/ldb/ldc are the row
// strides of A, B, C as stored.
void gemm_f32(Transpose trans_a, Transpose trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
              int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
void gemm_f32_reference(Transpose trans_a, Transpose trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                        const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// Threads OpenBLAS uses (<= 0: all cores).
void set_gemm_threads(int threads);
int gemm_threads();

// Sets the GEMM's threads for a scope and restores the previous count: for
// work made of many small products (tens of rows), where waking OpenBLAS's
// threads costs more than they give.
class GemmThreadsScope {
 public:
  explicit GemmThreadsScope(int threads) : previous_(gemm_threads()) { set_gemm_threads(threads); }
  ~GemmThreadsScope() { set_gemm_threads(previous_); }
  GemmThreadsScope(const GemmThreadsScope&) = delete;
  GemmThreadsScope& operator=(const GemmThreadsScope&) = delete;

 private:
  int previous_;
};

}  // namespace officina
