#include "pdm/regime_clusters.h"

#include <cmath>
#include <limits>

#include "base/random.h"

namespace officina::pdm {

namespace {

double squared_distance(const double* a, const double* b, size_t d) {
  double s = 0;
  for (size_t j = 0; j < d; ++j) s += (a[j] - b[j]) * (a[j] - b[j]);
  return s;
}

struct KMeansResult {
  std::vector<double> centroids;
  double within = 0;
};

// Lloyd's algorithm from a k-means++ start.
KMeansResult kmeans(const std::vector<double>& x, size_t n, size_t d, int k, Rng& rng) {
  KMeansResult r;
  r.centroids.resize(static_cast<size_t>(k) * d);
  std::vector<double> nearest(n, std::numeric_limits<double>::infinity());
  size_t first = static_cast<size_t>(rng.uniform() * static_cast<double>(n));
  std::copy_n(&x[first * d], d, r.centroids.begin());
  for (int c = 1; c < k; ++c) {
    double total = 0;
    for (size_t i = 0; i < n; ++i) {
      nearest[i] = std::min(nearest[i], squared_distance(&x[i * d], &r.centroids[(c - 1) * d], d));
      total += nearest[i];
    }
    double pick = rng.uniform() * total, acc = 0;
    size_t chosen = n - 1;
    for (size_t i = 0; i < n; ++i) {
      acc += nearest[i];
      if (acc >= pick) {
        chosen = i;
        break;
      }
    }
    std::copy_n(&x[chosen * d], d, r.centroids.begin() + c * d);
  }
  std::vector<int> label(n, -1);
  for (int iter = 0; iter < 100; ++iter) {
    bool changed = false;
    r.within = 0;
    for (size_t i = 0; i < n; ++i) {
      int best = 0;
      double best_d = std::numeric_limits<double>::infinity();
      for (int c = 0; c < k; ++c) {
        double dist = squared_distance(&x[i * d], &r.centroids[c * d], d);
        if (dist < best_d) best_d = dist, best = c;
      }
      if (label[i] != best) label[i] = best, changed = true;
      r.within += best_d;
    }
    if (!changed) break;
    std::vector<double> sum(r.centroids.size(), 0.0);
    std::vector<size_t> count(k, 0);
    for (size_t i = 0; i < n; ++i) {
      ++count[label[i]];
      for (size_t j = 0; j < d; ++j) sum[label[i] * d + j] += x[i * d + j];
    }
    for (int c = 0; c < k; ++c) {
      if (count[c] == 0) continue;  // an empty cluster keeps its old centre
      for (size_t j = 0; j < d; ++j) r.centroids[c * d + j] = sum[c * d + j] / static_cast<double>(count[c]);
    }
  }
  return r;
}

}  // namespace

RegimeClusters RegimeClusters::fit(const std::vector<double>& rows, size_t settings, const RegimeOptions& options) {
  RegimeClusters rc;
  rc.settings_ = settings;
  rc.center_.assign(settings, 0.0);
  rc.scale_.assign(settings, 0.0);
  rc.centroids_.assign(settings, 0.0);
  const size_t n = settings == 0 ? 0 : rows.size() / settings;
  if (n < 2) return rc;
  std::vector<size_t> active;
  for (size_t j = 0; j < settings; ++j) {
    double mean = 0, sq = 0;
    for (size_t i = 0; i < n; ++i) mean += rows[i * settings + j];
    mean /= static_cast<double>(n);
    for (size_t i = 0; i < n; ++i) sq += (rows[i * settings + j] - mean) * (rows[i * settings + j] - mean);
    double sd = std::sqrt(sq / static_cast<double>(n));
    rc.center_[j] = mean;
    if (sd > 1e-9 * (1 + std::abs(mean))) {
      rc.scale_[j] = sd;
      active.push_back(j);
    }
  }
  if (active.empty()) return rc;
  // At most ~20000 rows: regimes are few and dense, a stride finds them all.
  const size_t stride = std::max<size_t>(1, n / 20000);
  const size_t m = (n + stride - 1) / stride, d = settings;
  std::vector<double> x(m * d, 0.0);
  for (size_t i = 0, r = 0; r < m; ++r, i += stride) {
    for (size_t j : active) x[r * d + j] = (rows[i * settings + j] - rc.center_[j]) / rc.scale_[j];
  }
  double total = 0;  // standardised: each active setting has variance 1
  for (size_t i = 0; i < m * d; ++i) total += x[i] * x[i];
  Rng rng(mix_seed(options.seed ^ 0x5e771e5ull));
  for (int k = 2; k <= options.max_regimes && static_cast<size_t>(k) <= m; ++k) {
    KMeansResult best;
    best.within = std::numeric_limits<double>::infinity();
    for (int attempt = 0; attempt < 3; ++attempt) {
      KMeansResult r = kmeans(x, m, d, k, rng);
      if (r.within < best.within) best = std::move(r);
    }
    if (1.0 - best.within / total >= options.explained) {
      rc.count_ = k;
      rc.centroids_ = std::move(best.centroids);
      return rc;
    }
  }
  return rc;
}

int RegimeClusters::assign(const double* settings) const {
  if (count_ == 1) return 0;
  int best = 0;
  double best_d = std::numeric_limits<double>::infinity();
  for (int c = 0; c < count_; ++c) {
    double dist = 0;
    for (size_t j = 0; j < settings_; ++j) {
      if (scale_[j] == 0) continue;
      double z = (settings[j] - center_[j]) / scale_[j] - centroids_[c * settings_ + j];
      dist += z * z;
    }
    if (dist < best_d) best_d = dist, best = c;
  }
  return best;
}

Json RegimeClusters::to_json() const {
  return {{"count", count_}, {"center", center_}, {"scale", scale_}, {"centroids", centroids_}};
}

Result<RegimeClusters> RegimeClusters::from_json(const Json& json, size_t settings, std::string_view where) {
  RegimeClusters rc;
  rc.settings_ = settings;
  OFFICINA_TRY(int64_t count, json_int(json, "count", where));
  if (count < 1 || count > 64) return fail("{}: regime count {} out of range", where, count);
  rc.count_ = static_cast<int>(count);
  try {
    rc.center_ = json.at("center").get<std::vector<double>>();
    rc.scale_ = json.at("scale").get<std::vector<double>>();
    rc.centroids_ = json.at("centroids").get<std::vector<double>>();
  } catch (const std::exception& e) {
    return fail("{}: {}", where, e.what());
  }
  if (rc.center_.size() != settings || rc.scale_.size() != settings ||
      rc.centroids_.size() != static_cast<size_t>(count) * settings) {
    return fail("{}: regime arrays do not match {} settings and {} regimes", where, settings, count);
  }
  return rc;
}

}  // namespace officina::pdm
