// One regression tree of a gradient-boosted model, and the histogram-based
// builder that grows it on binned features.
//
// Growth is leaf-wise: the leaf whose best split reduces the squared loss
// most is split next, until `max_leaves` leaves, `max_depth`, or no split
// with both sides holding `min_leaf` rows gains anything. A split's gain is
// G_L²/(H_L+λ) + G_R²/(H_R+λ) - G²/(H+λ) for sums G of gradients and H of
// hessians (squared loss with row weights w: g = w (p - y), h = w); a leaf's
// value is -G/(H+λ) times the learning rate. The smaller child's histogram is built from its rows, the
// larger one's by subtracting it from the parent's.
//
// Node arrays: feature[i] < 0 marks a leaf. Going left means x <= threshold.
// Thread-safety: a built tree is immutable; TreeBuilder::grow is not
// reentrant (it uses the pool it is given for the histograms).
#pragma once

#include <cstdint>
#include <vector>

#include "base/error.h"
#include "base/json_util.h"
#include "base/thread_pool.h"
#include "pdm/feature_binner.h"

namespace officina::pdm {

struct RegressionTree {
  std::vector<int32_t> feature;
  std::vector<double> threshold;
  std::vector<uint8_t> bin;  // split bin (training only, not saved)
  std::vector<int32_t> left, right;
  std::vector<double> value;

  double predict(const double* row) const;
  double predict_binned(const BinnedMatrix& m, size_t row) const;
  size_t leaves() const;

  Json to_json() const;
  // Checks that indices stay in range and the nodes form a tree.
  static Result<RegressionTree> from_json(const Json& json, size_t features, std::string_view where);
};

struct TreeOptions {
  int max_depth = 6;
  int max_leaves = 31;
  int min_leaf = 20;
  double lambda = 1.0;
  double learning_rate = 0.05;
};

class TreeBuilder {
 public:
  TreeBuilder(const BinnedMatrix& bins, const FeatureBinner& binner, const TreeOptions& options, ThreadPool* pool);

  // Grows a tree on `rows` (indices into the matrix; reordered) with the
  // gradients `grad` and hessians `hess` (indexed by row), using only `features`.
  RegressionTree grow(std::vector<uint32_t>& rows, const std::vector<double>& grad, const std::vector<double>& hess,
                      const std::vector<uint32_t>& features);

 private:
  struct Hist {
    std::vector<double> g;  // [features, 256]
    std::vector<double> h;
    std::vector<double> n;
  };
  struct Split {
    double gain = 0;
    int32_t feature = -1;
    int bin = 0;
  };
  struct Leaf {
    int32_t node;
    size_t begin, end;
    int depth;
    double g, h;
    Hist hist;
    Split split;
  };
  void build_hist(const std::vector<uint32_t>& rows, size_t begin, size_t end, const std::vector<double>& grad,
                  const std::vector<double>& hess, const std::vector<uint32_t>& features, Hist& hist);
  Split best_split(const Hist& hist, double g, double h, double n, const std::vector<uint32_t>& features) const;

  const BinnedMatrix& bins_;
  const FeatureBinner& binner_;
  TreeOptions options_;
  ThreadPool* pool_;
};

}  // namespace officina::pdm
