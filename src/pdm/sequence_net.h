// A small 1D convolutional network for remaining useful life, trained with
// officina's training engine (AdamW, gradient clipping and the F32 GEMM of
// the LLM trainer).
//
//   input  [window, channels] (SequenceWindow) and [scalars]
//   conv1  kernel K, `filters` maps, ReLU            -> [window - K + 1, filters]
//   conv2  kernel K, `filters` maps, ReLU            -> [window - 2K + 2, filters]
//   pool   mean over time ++ the last step ++ scalars -> [2 filters + scalars]
//   dense  `hidden` units, ReLU
//   out    one unit: RUL = out · y_scale + y_shift
//
// Convolutions are "valid" and run as im2col + GEMM over the whole batch
// (the rows of one window are contiguous, so each im2col row is a copy of
// K·C floats). The loss is the weighted mean squared error of the
// standardised target. Training (train()) draws seeded minibatches, clips
// the global gradient norm, and keeps the parameters of the epoch with the
// lowest validation RMSE (early stopping after `patience` epochs without
// improvement). The same data, options and seed give the same network on
// any thread count (the GEMM never splits its inner dimension).
//
// Thread-safety: predict() is const, keeps no state and uses its own loops,
// so it is safe to call concurrently (the twin's replications do); train()
// and loss_and_gradient() use the shared GEMM, one thread at a time (train()
// sets OpenBLAS to one thread while it runs: its products are small).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/json_util.h"

namespace officina::pdm {

struct SequenceNetOptions {
  int filters = 24;
  int kernel = 5;
  int hidden = 32;
  int batch = 64;
  int max_epochs = 40;
  int patience = 6;
  double learning_rate = 2e-3;
  double weight_decay = 1e-4;
  double clip_norm = 1.0;
  uint64_t seed = 1;
};

// Training rows: x [rows, window · channels], s [rows, scalars], y and w
// [rows] (w = loss weight).
struct SequenceRows {
  size_t window = 0, channels = 0, scalars = 0;
  std::vector<float> x, s;
  std::vector<double> y, w;
  size_t rows() const { return y.size(); }
};

struct SequenceTrainInfo {
  int epochs = 0;      // epochs run
  int best_epoch = 0;  // 1-based epoch whose parameters were kept
  double train_rmse = 0, validation_rmse = 0;  // in target units, at the best epoch
};

class SequenceNet {
 public:
  // Trains on rows `train`, early-stopping on `validation` (may be empty:
  // then every epoch runs and the last is kept). Fails on an empty training
  // set or a window shorter than the two convolutions need.
  static Result<SequenceNet> train(const SequenceRows& data, const std::vector<uint32_t>& train,
                                   const std::vector<uint32_t>& validation, const SequenceNetOptions& options,
                                   SequenceTrainInfo* info = nullptr);

  // RUL for n inputs laid out as in SequenceRows.
  std::vector<double> predict(const float* x, const float* s, size_t n) const;

  size_t window() const { return window_; }
  size_t channels() const { return channels_; }
  size_t scalars() const { return scalars_; }
  size_t parameter_count() const { return params_.size(); }

  Json to_json() const;
  static Result<SequenceNet> from_json(const Json& json, std::string_view where);

  // For the gradient check in the tests: the loss of rows [0, n) with the
  // current parameters and its gradient with respect to every parameter.
  double loss_and_gradient(const float* x, const float* s, const double* y, const double* w, size_t n,
                           std::vector<float>& grad) const;
  std::vector<float>& parameters() { return params_; }
  static SequenceNet initial(size_t window, size_t channels, size_t scalars, const SequenceNetOptions& options,
                             double y_shift, double y_scale);

 private:
  struct Layout {
    size_t w1, b1, w2, b2, w3, b3, w4, b4, total;
  };
  struct Workspace;
  Layout layout() const;
  size_t l1() const { return window_ - kernel_ + 1; }
  size_t l2() const { return window_ - 2 * kernel_ + 2; }
  size_t pooled() const { return 2 * filters_ + scalars_; }
  // Forward over n rows into ws; the raw outputs are in ws.out. With
  // shared_gemm the products run on OpenBLAS (training), else on plain loops.
  void forward(const float* x, const float* s, size_t n, Workspace& ws, bool shared_gemm) const;
  std::vector<double> run(const float* x, const float* s, size_t n, bool shared_gemm) const;
  // Backward from d(loss)/d(out) in ws.dout; writes the gradient into grad.
  void backward(size_t n, Workspace& ws, float* grad) const;

  size_t window_ = 0, channels_ = 0, scalars_ = 0;
  size_t filters_ = 24, kernel_ = 5, hidden_ = 32;
  double y_shift_ = 0, y_scale_ = 1;
  std::vector<float> params_;
};

}  // namespace officina::pdm
