#include "pdm/health_model.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace officina::pdm {

namespace {

// Inverse of a symmetric positive-definite [n, n] matrix through its
// Cholesky factor; an error when it is not positive definite.
Result<std::vector<double>> spd_inverse(const std::vector<double>& a, size_t n) {
  std::vector<double> l(n * n, 0.0);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j <= i; ++j) {
      double s = a[i * n + j];
      for (size_t p = 0; p < j; ++p) s -= l[i * n + p] * l[j * n + p];
      if (i == j) {
        if (!(s > 0)) return fail("covariance is not positive definite");
        l[i * n + i] = std::sqrt(s);
      } else {
        l[i * n + j] = s / l[j * n + j];
      }
    }
  }
  // Solve L Lᵀ X = I column by column.
  std::vector<double> inv(n * n, 0.0), y(n);
  for (size_t c = 0; c < n; ++c) {
    for (size_t i = 0; i < n; ++i) {
      double s = i == c ? 1.0 : 0.0;
      for (size_t p = 0; p < i; ++p) s -= l[i * n + p] * y[p];
      y[i] = s / l[i * n + i];
    }
    for (size_t i = n; i-- > 0;) {
      double s = y[i];
      for (size_t p = i + 1; p < n; ++p) s -= l[p * n + i] * inv[p * n + c];
      inv[i * n + c] = s / l[i * n + i];
    }
  }
  return inv;
}

}  // namespace

namespace {

// Mean and Ledoit-Wolf shrunk covariance of the rows with keep[i] set.
struct Moments {
  std::vector<double> mean, sigma;
  double shrinkage = 0;
};

Moments shrunk_moments(const std::vector<double>& rows, size_t k, const std::vector<bool>& keep) {
  const size_t n = rows.size() / k;
  Moments mo;
  mo.mean.assign(k, 0.0);
  double used = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!keep[i]) continue;
    used += 1;
    for (size_t j = 0; j < k; ++j) mo.mean[j] += rows[i * k + j];
  }
  for (double& m : mo.mean) m /= used;
  std::vector<double> s(k * k, 0.0), x(k);
  for (size_t i = 0; i < n; ++i) {
    if (!keep[i]) continue;
    for (size_t j = 0; j < k; ++j) x[j] = rows[i * k + j] - mo.mean[j];
    for (size_t a = 0; a < k; ++a) {
      for (size_t b = 0; b < k; ++b) s[a * k + b] += x[a] * x[b];
    }
  }
  for (double& v : s) v /= used;
  // Ledoit-Wolf: shrink S towards m I with weight min(b², d²) / d².
  double m = 0;
  for (size_t j = 0; j < k; ++j) m += s[j * k + j];
  m = std::max(m / static_cast<double>(k), 1e-12);
  double d2 = 0, b2 = 0;
  for (size_t a = 0; a < k; ++a) {
    for (size_t b = 0; b < k; ++b) d2 += std::pow(s[a * k + b] - (a == b ? m : 0.0), 2);
  }
  for (size_t i = 0; i < n; ++i) {
    if (!keep[i]) continue;
    for (size_t j = 0; j < k; ++j) x[j] = rows[i * k + j] - mo.mean[j];
    for (size_t a = 0; a < k; ++a) {
      for (size_t b = 0; b < k; ++b) b2 += std::pow(x[a] * x[b] - s[a * k + b], 2);
    }
  }
  b2 /= used * used;
  mo.shrinkage = d2 > 0 ? std::min(b2, d2) / d2 : 1.0;
  mo.sigma.resize(k * k);
  for (size_t a = 0; a < k; ++a) {
    for (size_t b = 0; b < k; ++b) {
      mo.sigma[a * k + b] = (1 - mo.shrinkage) * s[a * k + b] + (a == b ? mo.shrinkage * m + 1e-9 * m : 0.0);
    }
  }
  return mo;
}

// Wilson-Hilferty approximation of the chi-square quantile with k degrees
// of freedom at standard normal quantile z.
double chi_square_quantile(size_t k, double z) {
  const double dk = static_cast<double>(k), c = 2.0 / (9.0 * dk);
  return dk * std::pow(1 - c + z * std::sqrt(c), 3);
}

}  // namespace

Result<HealthModel> HealthModel::fit(const std::vector<double>& rows, size_t k, const HealthOptions& options) {
  const size_t n = k == 0 ? 0 : rows.size() / k;
  if (n < 2) return fail("the health index needs at least 2 healthy cycles, got {}", n);
  HealthModel h;
  h.k_ = k;
  h.persistence_ = std::max(1, options.persistence);
  h.max_drivers_ = options.max_drivers;
  h.driver_share_ = options.driver_share;
  // The "healthy" start of a run can be worn already (a repair that renews
  // one failure mode leaves another's wear), so refit twice without the rows
  // that are far out (D² above the chi-square 0.999 quantile): a baseline
  // that such rows cannot inflate.
  std::vector<bool> keep(n, true);
  const double cut = chi_square_quantile(k, 3.09);
  std::vector<double> hi;
  for (int pass = 0; pass < 3; ++pass) {
    Moments mo = shrunk_moments(rows, k, keep);
    auto inv = spd_inverse(mo.sigma, k);
    if (!inv) return fail("health index: {}", inv.error().message);
    h.mean_ = std::move(mo.mean);
    h.precision_ = std::move(*inv);
    h.shrinkage_ = mo.shrinkage;
    hi = h.health_index(rows);
    if (pass == 2) break;
    size_t kept = 0;
    for (size_t i = 0; i < n; ++i) kept += hi[i] * hi[i] * static_cast<double>(k) <= cut;
    if (kept < std::max<size_t>(2, n / 2)) break;  // not an outlier tail: keep what we have
    for (size_t i = 0; i < n; ++i) keep[i] = hi[i] * hi[i] * static_cast<double>(k) <= cut;
  }
  std::vector<double> kept_hi;
  for (size_t i = 0; i < n; ++i) {
    if (keep[i]) kept_hi.push_back(hi[i]);
  }
  std::sort(kept_hi.begin(), kept_hi.end());
  const size_t q = std::min(kept_hi.size() - 1,
                            static_cast<size_t>(std::ceil(options.on_quantile * static_cast<double>(kept_hi.size()))) - 1);
  h.on_ = kept_hi[q] * options.on_factor;
  h.off_ = h.on_ * options.off_ratio;
  return h;
}

std::vector<double> HealthModel::health_index(const std::vector<double>& z, std::vector<double>* contributions) const {
  const size_t n = z.size() / k_;
  std::vector<double> hi(n), d(k_), pd(k_);
  if (contributions) contributions->assign(n * k_, 0.0);
  for (size_t t = 0; t < n; ++t) {
    for (size_t j = 0; j < k_; ++j) d[j] = z[t * k_ + j] - mean_[j];
    double d2 = 0;
    for (size_t a = 0; a < k_; ++a) {
      double s = 0;
      for (size_t b = 0; b < k_; ++b) s += precision_[a * k_ + b] * d[b];
      pd[a] = s;
      d2 += d[a] * s;
    }
    hi[t] = std::sqrt(std::max(d2, 0.0) / static_cast<double>(k_));
    if (contributions) {
      for (size_t j = 0; j < k_; ++j) (*contributions)[t * k_ + j] = d[j] * pd[j];
    }
  }
  return hi;
}

std::vector<size_t> HealthModel::drivers(const double* c) const {
  double total = 0;
  for (size_t j = 0; j < k_; ++j) total += std::max(c[j], 0.0);
  std::vector<size_t> order(k_);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return c[a] > c[b]; });
  std::vector<size_t> out;
  for (size_t j : order) {
    if (static_cast<int>(out.size()) >= max_drivers_ || !(c[j] > 0) || c[j] < driver_share_ * total) break;
    out.push_back(j);
  }
  return out;
}

std::vector<Alarm> HealthModel::alarms(int64_t unit, const std::vector<int64_t>& cycles,
                                       const std::vector<double>& z) const {
  std::vector<double> contributions;
  std::vector<double> hi = health_index(z, &contributions);
  std::vector<Alarm> out;
  bool active = false;
  int run = 0;
  size_t start = 0;
  auto close = [&](size_t end, bool open) {
    Alarm a;
    a.unit = unit;
    a.start_cycle = cycles[start];
    a.end_cycle = cycles[end];
    a.open = open;
    std::vector<double> sum(k_, 0.0);
    for (size_t t = start; t <= end; ++t) {
      a.peak = std::max(a.peak, hi[t]);
      for (size_t j = 0; j < k_; ++j) sum[j] += contributions[t * k_ + j];
    }
    a.drivers = drivers(sum.data());
    out.push_back(std::move(a));
  };
  for (size_t t = 0; t < hi.size(); ++t) {
    if (!active) {
      run = hi[t] > on_ ? run + 1 : 0;
      if (run >= persistence_) {
        active = true;
        start = t + 1 - static_cast<size_t>(run);
        run = 0;
      }
    } else {
      run = hi[t] < off_ ? run + 1 : 0;
      if (run >= persistence_) {
        close(t - static_cast<size_t>(run), false);
        active = false;
        run = 0;
      }
    }
  }
  if (active) close(hi.size() - 1, true);
  return out;
}

Json HealthModel::to_json() const {
  return {{"dims", k_},        {"mean", mean_},  {"precision", precision_},      {"shrinkage", shrinkage_},
          {"on", on_},         {"off", off_},    {"persistence", persistence_}, {"max_drivers", max_drivers_},
          {"driver_share", driver_share_}};
}

Result<HealthModel> HealthModel::from_json(const Json& json, std::string_view where) {
  HealthModel h;
  try {
    h.k_ = json.at("dims").get<size_t>();
    h.mean_ = json.at("mean").get<std::vector<double>>();
    h.precision_ = json.at("precision").get<std::vector<double>>();
    h.shrinkage_ = json.at("shrinkage").get<double>();
    h.on_ = json.at("on").get<double>();
    h.off_ = json.at("off").get<double>();
    h.persistence_ = json.at("persistence").get<int>();
    h.max_drivers_ = json.at("max_drivers").get<int>();
    h.driver_share_ = json.at("driver_share").get<double>();
  } catch (const std::exception& e) {
    return fail("{}: health model: {}", where, e.what());
  }
  if (h.k_ == 0 || h.mean_.size() != h.k_ || h.precision_.size() != h.k_ * h.k_ || h.persistence_ < 1) {
    return fail("{}: health model arrays do not match {} dimensions", where, h.k_);
  }
  return h;
}

}  // namespace officina::pdm
