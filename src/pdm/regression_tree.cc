#include "pdm/regression_tree.h"

#include <algorithm>
#include <cmath>

namespace officina::pdm {

double RegressionTree::predict(const double* row) const {
  int32_t i = 0;
  while (feature[i] >= 0) i = row[feature[i]] <= threshold[i] ? left[i] : right[i];
  return value[i];
}

double RegressionTree::predict_binned(const BinnedMatrix& m, size_t row) const {
  int32_t i = 0;
  while (feature[i] >= 0) i = m.column(feature[i])[row] <= bin[i] ? left[i] : right[i];
  return value[i];
}

size_t RegressionTree::leaves() const {
  return static_cast<size_t>(std::count(feature.begin(), feature.end(), -1));
}

Json RegressionTree::to_json() const {
  return {{"feature", feature}, {"threshold", threshold}, {"left", left}, {"right", right}, {"value", value}};
}

Result<RegressionTree> RegressionTree::from_json(const Json& json, size_t features, std::string_view where) {
  RegressionTree t;
  try {
    t.feature = json.at("feature").get<std::vector<int32_t>>();
    t.threshold = json.at("threshold").get<std::vector<double>>();
    t.left = json.at("left").get<std::vector<int32_t>>();
    t.right = json.at("right").get<std::vector<int32_t>>();
    t.value = json.at("value").get<std::vector<double>>();
  } catch (const std::exception& e) {
    return fail("{}: {}", where, e.what());
  }
  const size_t n = t.feature.size();
  if (n == 0 || t.threshold.size() != n || t.left.size() != n || t.right.size() != n || t.value.size() != n) {
    return fail("{}: tree arrays are empty or of different lengths", where);
  }
  // Children must come after their parent, which rules out cycles.
  for (size_t i = 0; i < n; ++i) {
    if (t.feature[i] < 0) continue;
    if (static_cast<size_t>(t.feature[i]) >= features) return fail("{}: node {} uses feature {} of {}", where, i, t.feature[i], features);
    for (int32_t c : {t.left[i], t.right[i]}) {
      if (c <= static_cast<int32_t>(i) || static_cast<size_t>(c) >= n) return fail("{}: node {} has a bad child {}", where, i, c);
    }
  }
  return t;
}

TreeBuilder::TreeBuilder(const BinnedMatrix& bins, const FeatureBinner& binner, const TreeOptions& options,
                         ThreadPool* pool)
    : bins_(bins), binner_(binner), options_(options), pool_(pool) {}

void TreeBuilder::build_hist(const std::vector<uint32_t>& rows, size_t begin, size_t end,
                             const std::vector<double>& grad, const std::vector<double>& hess,
                             const std::vector<uint32_t>& features, Hist& hist) {
  hist.g.assign(features.size() * 256, 0.0);
  hist.h.assign(features.size() * 256, 0.0);
  hist.n.assign(features.size() * 256, 0.0);
  auto work = [&](int64_t fb, int64_t fe, int) {
    for (int64_t p = fb; p < fe; ++p) {
      const uint8_t* col = bins_.column(features[p]);
      double* g = hist.g.data() + p * 256;
      double* h = hist.h.data() + p * 256;
      double* n = hist.n.data() + p * 256;
      for (size_t i = begin; i < end; ++i) {
        const uint32_t r = rows[i];
        g[col[r]] += grad[r];
        h[col[r]] += hess[r];
        n[col[r]] += 1;
      }
    }
  };
  // Threads only pay off for big nodes.
  if (pool_ && pool_->size() > 1 && (end - begin) * features.size() > 200000) {
    pool_->parallel_for(static_cast<int64_t>(features.size()), work);
  } else {
    work(0, static_cast<int64_t>(features.size()), 0);
  }
}

TreeBuilder::Split TreeBuilder::best_split(const Hist& hist, double g, double h, double n,
                                           const std::vector<uint32_t>& features) const {
  Split best;
  const double lambda = options_.lambda, min_leaf = options_.min_leaf;
  const double parent = g * g / (h + lambda);
  for (size_t p = 0; p < features.size(); ++p) {
    const int bins = binner_.bin_count(features[p]);
    const double* hg = hist.g.data() + p * 256;
    const double* hh = hist.h.data() + p * 256;
    const double* hn = hist.n.data() + p * 256;
    double gl = 0, hl = 0, nl = 0;
    for (int b = 0; b + 1 < bins; ++b) {
      gl += hg[b];
      hl += hh[b];
      nl += hn[b];
      if (nl < min_leaf) continue;
      if (n - nl < min_leaf) break;
      const double gr = g - gl, hr = h - hl;
      const double gain = gl * gl / (hl + lambda) + gr * gr / (hr + lambda) - parent;
      if (gain > best.gain + 1e-12) {
        best.gain = gain;
        best.feature = static_cast<int32_t>(p);  // position in `features`
        best.bin = b;
      }
    }
  }
  return best;
}

RegressionTree TreeBuilder::grow(std::vector<uint32_t>& rows, const std::vector<double>& grad,
                                 const std::vector<double>& hess, const std::vector<uint32_t>& features) {
  RegressionTree tree;
  auto add_node = [&](double value) {
    tree.feature.push_back(-1);
    tree.threshold.push_back(0);
    tree.bin.push_back(0);
    tree.left.push_back(-1);
    tree.right.push_back(-1);
    tree.value.push_back(value);
    return static_cast<int32_t>(tree.feature.size() - 1);
  };
  auto leaf_value = [&](double g, double h) { return -g / (h + options_.lambda) * options_.learning_rate; };

  std::vector<Leaf> open;
  {
    Leaf root{0, 0, rows.size(), 0, 0, 0, {}, {}};
    for (uint32_t r : rows) root.g += grad[r], root.h += hess[r];
    root.node = add_node(leaf_value(root.g, root.h));
    build_hist(rows, 0, rows.size(), grad, hess, features, root.hist);
    root.split = best_split(root.hist, root.g, root.h, static_cast<double>(rows.size()), features);
    open.push_back(std::move(root));
  }
  int leaves = 1;
  while (leaves < options_.max_leaves) {
    size_t pick = open.size();
    for (size_t i = 0; i < open.size(); ++i) {
      if (open[i].split.feature < 0 || open[i].depth >= options_.max_depth) continue;
      if (pick == open.size() || open[i].split.gain > open[pick].split.gain) pick = i;
    }
    if (pick == open.size()) break;
    Leaf parent = std::move(open[pick]);
    open.erase(open.begin() + static_cast<std::ptrdiff_t>(pick));
    const uint32_t f = features[parent.split.feature];
    const int b = parent.split.bin;
    const uint8_t* col = bins_.column(f);
    auto mid_it = std::stable_partition(rows.begin() + static_cast<std::ptrdiff_t>(parent.begin),
                                        rows.begin() + static_cast<std::ptrdiff_t>(parent.end),
                                        [&](uint32_t r) { return col[r] <= b; });
    const size_t mid = static_cast<size_t>(mid_it - rows.begin());
    Leaf l{0, parent.begin, mid, parent.depth + 1, 0, 0, {}, {}};
    Leaf r{0, mid, parent.end, parent.depth + 1, 0, 0, {}, {}};
    for (size_t i = l.begin; i < l.end; ++i) l.g += grad[rows[i]], l.h += hess[rows[i]];
    r.g = parent.g - l.g;
    r.h = parent.h - l.h;
    const double nl = static_cast<double>(l.end - l.begin), nr = static_cast<double>(r.end - r.begin);
    Leaf& small = nl <= nr ? l : r;
    Leaf& large = nl <= nr ? r : l;
    build_hist(rows, small.begin, small.end, grad, hess, features, small.hist);
    large.hist = std::move(parent.hist);
    for (size_t i = 0; i < large.hist.g.size(); ++i) {
      large.hist.g[i] -= small.hist.g[i];
      large.hist.h[i] -= small.hist.h[i];
      large.hist.n[i] -= small.hist.n[i];
    }
    tree.feature[parent.node] = static_cast<int32_t>(f);
    tree.bin[parent.node] = static_cast<uint8_t>(b);
    tree.threshold[parent.node] = binner_.edges(f)[b];
    l.node = add_node(leaf_value(l.g, l.h));
    r.node = add_node(leaf_value(r.g, r.h));
    tree.left[parent.node] = l.node;
    tree.right[parent.node] = r.node;
    tree.value[parent.node] = 0;
    l.split = best_split(l.hist, l.g, l.h, nl, features);
    r.split = best_split(r.hist, r.g, r.h, nr, features);
    open.push_back(std::move(l));
    open.push_back(std::move(r));
    ++leaves;
  }
  return tree;
}

}  // namespace officina::pdm
