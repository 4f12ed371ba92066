#include "experiment/synthetic.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/errors.h"

namespace wmtp::experiment {
namespace {

constexpr double kPi = 3.14159265358979323846;

// xoshiro256** seeded through splitmix64: portable, so the data is the same everywhere.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) {
    for (std::uint64_t& word : s_) word = splitmix(&seed);
  }
  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  double normal() {  // Box-Muller, one value per call
    const double u1 = 1.0 - uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * kPi * u2);
  }
  int poisson(double lambda) {  // Knuth; lambda is small here
    const double limit = std::exp(-lambda);
    int k = 0;
    double p = uniform();
    while (p > limit) {
      ++k;
      p *= uniform();
    }
    return k;
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static std::uint64_t splitmix(std::uint64_t* state) {
    std::uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::uint64_t s_[4];
};

// Habits of one household, drawn once from its generator.
struct Habits {
  double scale;
  double base_kw;
  double morning_hour, morning_kw, morning_width_h;
  double evening_hour, evening_kw, evening_width_h;
  double jitter_h;
  double weekend_delay_h, weekend_midday_kw;
  double heating_kw_per_c, cooling_kw_per_c;
  double events_per_day;
};

Habits draw_habits(Rng& rng) {
  Habits h{};
  h.scale = rng.uniform(0.7, 1.6);
  h.base_kw = rng.uniform(0.15, 0.45);
  h.morning_hour = rng.uniform(6.0, 8.0);
  h.morning_kw = rng.uniform(0.3, 1.0);
  h.morning_width_h = rng.uniform(0.7, 1.3);
  h.evening_hour = rng.uniform(17.5, 20.0);
  h.evening_kw = rng.uniform(0.8, 2.0);
  h.evening_width_h = rng.uniform(1.0, 2.0);
  h.jitter_h = rng.uniform(0.3, 0.8);
  h.weekend_delay_h = rng.uniform(1.0, 2.5);
  h.weekend_midday_kw = rng.uniform(0.3, 0.9);
  h.heating_kw_per_c = rng.uniform(0.02, 0.08);
  h.cooling_kw_per_c = rng.uniform(0.0, 0.06);
  h.events_per_day = rng.uniform(0.4, 1.2);
  return h;
}

double bump(double hour, double center, double width) {
  // Distance on the 24 h circle, so late-evening peaks spill over midnight.
  double d = std::fabs(hour - center);
  d = std::min(d, 24.0 - d);
  return std::exp(-0.5 * (d / width) * (d / width));
}

}  // namespace

Series synthetic_household(const experiment::SyntheticOptions& options, int index) {
  if (options.days < 1) throw InputError("synthetic data: days must be at least 1");
  if (index < 1 || index > options.households) {
    throw InputError("synthetic data: household index " + std::to_string(index) + " outside 1.." +
                     std::to_string(options.households));
  }
  Rng rng(options.seed * 0x100000001b3ULL + static_cast<std::uint64_t>(index));
  const Habits h = draw_habits(rng);

  Series s;
  s.name = experiment::synthetic_series_name(index, options.households);
  s.unit = "kW";
  s.spacing_s = 3600;
  s.source = "synthetic";
  const std::size_t n = static_cast<std::size_t>(options.days) * 24;
  s.time_s.reserve(n);
  s.values.reserve(n);

  double weather = 0.0;  // AR(1) daily temperature anomaly, C
  std::vector<double> event_kw(n + 2, 0.0);
  for (int day = 0; day < options.days; ++day) {
    const std::int64_t day_start = options.start_s + static_cast<std::int64_t>(day) * 86400;
    const std::int64_t epoch_day = day_start >= 0 ? day_start / 86400 : (day_start - 86399) / 86400;
    const int weekday = static_cast<int>(((epoch_day + 3) % 7 + 7) % 7);  // 0 = Monday
    const bool weekend = weekday >= 5;
    weather = 0.8 * weather + 2.0 * rng.normal();
    const double day_of_year = static_cast<double>(epoch_day % 365);
    const double mean_temp = 11.0 + 9.0 * std::cos(2.0 * kPi * (day_of_year - 200.0) / 365.0) + weather;

    const double morning = h.morning_hour + (weekend ? h.weekend_delay_h : 0.0) + h.jitter_h * rng.normal();
    const double evening = h.evening_hour + h.jitter_h * rng.normal();
    const double morning_kw = h.morning_kw * (weekend ? 0.7 : 1.0) * rng.uniform(0.8, 1.2);
    const double evening_kw = h.evening_kw * rng.uniform(0.8, 1.2);

    const int events = rng.poisson(h.events_per_day * (weekend ? 1.4 : 1.0));
    for (int e = 0; e < events; ++e) {
      const int start_hour = rng.uniform() < 0.85 ? static_cast<int>(rng.uniform(7.0, 23.0))
                                                  : static_cast<int>(rng.uniform(0.0, 24.0));
      const int duration_h = rng.uniform() < 0.6 ? 1 : 2;
      const double power = rng.uniform(1.5, 3.5);
      for (int k = 0; k < duration_h; ++k) {
        const std::size_t t = static_cast<std::size_t>(day) * 24 + static_cast<std::size_t>(start_hour + k);
        if (t < n) event_kw[t] += power;
      }
    }

    for (int hour = 0; hour < 24; ++hour) {
      const double hd = static_cast<double>(hour);
      const double temp = mean_temp + 3.0 * std::cos(2.0 * kPi * (hd - 15.0) / 24.0);
      double kw = h.base_kw;
      kw += h.heating_kw_per_c * std::max(0.0, 16.0 - temp);
      kw += h.cooling_kw_per_c * std::max(0.0, temp - 23.0);
      kw += morning_kw * bump(hd, morning, h.morning_width_h * (weekend ? 1.5 : 1.0));
      kw += evening_kw * bump(hd, evening, h.evening_width_h);
      if (weekend) kw += h.weekend_midday_kw * bump(hd, 13.0, 1.5);
      kw *= h.scale * std::exp(0.08 * rng.normal());
      const std::size_t t = static_cast<std::size_t>(day) * 24 + static_cast<std::size_t>(hour);
      kw += event_kw[t];
      s.time_s.push_back(day_start + hour * 3600);
      s.values.push_back(std::max(0.0, std::round(kw * 1000.0) / 1000.0));
    }
  }
  return s;
}

std::vector<Series> synthetic_households(const experiment::SyntheticOptions& options) {
  if (options.households < 1) throw InputError("synthetic data: households must be at least 1");
  std::vector<Series> out;
  for (int i = 1; i <= options.households; ++i) out.push_back(synthetic_household(options, i));
  return out;
}

std::vector<Series> load_data(const experiment::DataSpec& data) {
  if (data.kind != "csv") return synthetic_households(data.synthetic);
  CsvOptions options;
  options.unit = data.unit;
  if (!parse_gap_policy(data.gaps, &options.gaps)) {
    throw InputError("data: gap policy '" + data.gaps + "': expected fail or drop-windows");
  }
  return load_csv(data.csv_path, options);
}

}  // namespace wmtp::experiment
