// The neural RUL model: its gradient against finite differences, learning a
// synthetic degradation, the sequence input, and its JSON.
#include "pdm/sequence_net.h"

#include <cmath>

#include <gtest/gtest.h>

#include "base/random.h"
#include "pdm/sequence_window.h"

namespace officina::pdm {
namespace {

TEST(SequenceNet, GradientMatchesFiniteDifferences) {
  SequenceNetOptions o;
  o.filters = 4;
  o.kernel = 3;
  o.hidden = 5;
  const size_t window = 8, channels = 3, scalars = 1, n = 6;
  SequenceNet net = SequenceNet::initial(window, channels, scalars, o, 10.0, 4.0);
  Rng rng(7);
  // Biases away from 0 so few units sit on a ReLU kink.
  for (float& p : net.parameters()) p += static_cast<float>(0.05 * rng.normal());
  std::vector<float> x(n * window * channels), s(n * scalars);
  for (float& v : x) v = static_cast<float>(rng.normal());
  for (float& v : s) v = static_cast<float>(rng.uniform());
  std::vector<double> y(n), w(n);
  for (size_t i = 0; i < n; ++i) y[i] = 10 + 8 * rng.normal(), w[i] = 0.5 + rng.uniform();
  std::vector<float> grad;
  net.loss_and_gradient(x.data(), s.data(), y.data(), w.data(), n, grad);
  ASSERT_EQ(grad.size(), net.parameter_count());
  std::vector<float> scratch;
  double diff2 = 0, norm2 = 0;
  size_t close = 0;
  for (size_t i = 0; i < grad.size(); ++i) {
    float& p = net.parameters()[i];
    const float keep = p;
    const float h = 2e-3f;
    p = keep + h;
    const double up = net.loss_and_gradient(x.data(), s.data(), y.data(), w.data(), n, scratch);
    p = keep - h;
    const double down = net.loss_and_gradient(x.data(), s.data(), y.data(), w.data(), n, scratch);
    p = keep;
    const double fd = (up - down) / (2.0 * h);
    diff2 += (fd - grad[i]) * (fd - grad[i]);
    norm2 += fd * fd;
    if (std::abs(fd - grad[i]) <= 2e-3 + 0.05 * std::abs(fd)) ++close;
  }
  EXPECT_GT(norm2, 0.0);
  EXPECT_LT(std::sqrt(diff2 / norm2), 0.02);
  // A component or two may straddle a ReLU kink.
  EXPECT_GE(close, grad.size() - 3) << close << " of " << grad.size();
}

TEST(SequenceNet, LearnsAShiftInItsInput) {
  // y = 50 + 30 * (mean of the last 4 steps of channel 0): a function the
  // network can represent; it must learn it well beyond the mean guess.
  const size_t window = 12, channels = 2, rows = 3000;
  SequenceRows d;
  d.window = window;
  d.channels = channels;
  d.scalars = 0;
  Rng rng(3);
  for (size_t r = 0; r < rows; ++r) {
    double level = rng.normal();
    double tail = 0;
    for (size_t t = 0; t < window; ++t) {
      const float v = static_cast<float>(level + (t >= window - 4 ? 0.5 * level : 0.0) + 0.1 * rng.normal());
      d.x.push_back(v);
      d.x.push_back(static_cast<float>(rng.normal()));  // noise channel
      if (t >= window - 4) tail += v / 4.0;
    }
    d.y.push_back(50 + 30 * tail);
    d.w.push_back(1.0);
  }
  d.s.resize(1);
  std::vector<uint32_t> train, val;
  for (uint32_t r = 0; r < rows; ++r) (r % 5 == 0 ? val : train).push_back(r);
  SequenceNetOptions o;
  o.max_epochs = 25;
  SequenceTrainInfo info;
  auto net = SequenceNet::train(d, train, val, o, &info);
  ASSERT_TRUE(net) << net.error().message;
  EXPECT_GE(info.best_epoch, 1);
  EXPECT_LE(info.best_epoch, info.epochs);
  // The target's standard deviation is about 45.
  EXPECT_LT(info.validation_rmse, 5.0) << info.validation_rmse;

  // JSON round trip: the same predictions, bit for bit.
  auto back = SequenceNet::from_json(Json::parse(net->to_json().dump()), "net");
  ASSERT_TRUE(back) << back.error().message;
  std::vector<double> a = net->predict(d.x.data(), d.s.data(), 50), b = back->predict(d.x.data(), d.s.data(), 50);
  EXPECT_EQ(a, b);

  // Same seed, same network.
  auto again = SequenceNet::train(d, train, val, o);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->predict(d.x.data(), d.s.data(), 50), a);
}

TEST(SequenceNet, RefusesBadSizesAndBrokenJson) {
  SequenceRows d;
  d.window = 5;
  d.channels = 1;
  d.x.assign(5, 1.0f);
  d.s.resize(1);
  d.y = {1};
  d.w = {1};
  SequenceNetOptions o;  // kernel 5: two convolutions need 9 cycles
  auto short_window = SequenceNet::train(d, {0}, {}, o);
  ASSERT_FALSE(short_window);
  EXPECT_NE(short_window.error().message.find("at least 9 cycles"), std::string::npos) << short_window.error().message;
  auto empty = SequenceNet::train(d, {}, {}, o);
  ASSERT_FALSE(empty);

  SequenceNet net = SequenceNet::initial(10, 2, 1, o, 0, 1);
  Json good = net.to_json();
  Json fewer = good;
  fewer["parameters"].erase(fewer["parameters"].begin());
  auto f = SequenceNet::from_json(fewer, "m.json");
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message.find("parameters, the sizes need"), std::string::npos) << f.error().message;
  Json huge = good;
  huge["filters"] = 1u << 30;
  EXPECT_FALSE(SequenceNet::from_json(huge, "m.json"));
  Json kernel = good;
  kernel["kernel"] = 1ull << 63;  // 2K - 1 would wrap around
  EXPECT_FALSE(SequenceNet::from_json(kernel, "m.json"));
  Json nan = good;
  nan["y_scale"] = -1;
  EXPECT_FALSE(SequenceNet::from_json(nan, "m.json"));
  Json text = good;
  text["parameters"][0] = "x";
  EXPECT_FALSE(SequenceNet::from_json(text, "m.json"));
  EXPECT_FALSE(SequenceNet::from_json(Json::array(), "m.json"));
}

TEST(SequenceWindow, PadsShortUnitsAndHonoursFeatureGroups) {
  UnitSignals u;
  u.length = 3;
  u.sensors = 2;
  u.settings = 1;
  u.smoothed = {1, 10, 2, 20, 3, 30};
  u.normalised = u.smoothed;
  u.health = {0, 1, 2};
  u.setting_values = {5, 7, 9};
  auto w = SequenceWindow::fit({u}, 2, 1, kAllFeatureGroups, 4);
  ASSERT_TRUE(w) << w.error().message;
  ASSERT_EQ(w->channels(), 4u);  // 2 sensors, health, 1 setting
  ASSERT_EQ(w->scalars(), 1u);
  std::vector<float> x(4 * 4), s(1);
  w->window(u, 1, x.data(), s.data());
  // Rows: cycles 0, 0, 0, 1 (padded with the first cycle).
  EXPECT_EQ(x[0], 1.0f);
  EXPECT_EQ(x[8], 1.0f);
  EXPECT_EQ(x[12], 2.0f);
  EXPECT_EQ(x[13], 20.0f);
  EXPECT_FLOAT_EQ(x[14], static_cast<float>(std::log1p(1.0)));
  // Setting 7 standardised by mean 7 and deviation sqrt(8/3).
  EXPECT_FLOAT_EQ(x[15], 0.0f);
  EXPECT_FLOAT_EQ(s[0], 2.0f / 3.0f);  // 2 cycles seen over a mean length of 3

  const uint32_t only_cycle = feature_group_bit(FeatureGroup::kCycle);
  auto none = SequenceWindow::fit({u}, 2, 1, only_cycle, 4);
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("needs a sequence"), std::string::npos);
  auto no_settings = SequenceWindow::fit({u}, 2, 1, kAllFeatureGroups & ~feature_group_bit(FeatureGroup::kSettings), 4);
  ASSERT_TRUE(no_settings);
  EXPECT_EQ(no_settings->channels(), 3u);
  auto back = SequenceWindow::from_json(w->to_json(), "m");
  ASSERT_TRUE(back);
  std::vector<float> y(16), t(1);
  back->window(u, 1, y.data(), t.data());
  EXPECT_EQ(x, y);
  Json bad = w->to_json();
  bad["setting_scale"] = {0.0};
  EXPECT_FALSE(SequenceWindow::from_json(bad, "m"));
}

}  // namespace
}  // namespace officina::pdm
