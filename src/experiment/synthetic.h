#pragma once
// The built-in synthetic household load (hourly kW), the default data of wmtp-train. It should
// look like real smart-meter data so that peak metrics mean something:
//  - a base load of a few hundred watts (fridge, standby), scaled per household;
//  - a morning and an evening peak (gaussian bumps) whose timing jitters from day to day;
//  - weekends shaped differently: later, flatter mornings and a midday bump;
//  - a slow seasonal drift: daily temperature (annual cycle + AR(1) weather + diurnal swing)
//    drives electric heating below 16 C and cooling above 23 C;
//  - appliance events (oven, washer, kettle runs) of 1.5-3.5 kW lasting one or two hours,
//    a Poisson number per day at random hours, mostly in waking hours;
//  - small multiplicative noise; values rounded to watts and never negative.
// Households differ in scale, base load, peak timing and size, heating and event habits. Every
// draw comes from one portable generator (splitmix64/xoshiro256**) seeded by (seed, household),
// so the same seed gives bit-identical series on every platform and in every cell of a plan.
#include <cstdint>
#include <vector>

#include "experiment/plan.h"
#include "experiment/series.h"

namespace wmtp::experiment {

// household-01 .. household-NN (two digits, more when needed).
std::vector<Series> synthetic_households(const experiment::SyntheticOptions& options);
// One household; index is 1-based.
Series synthetic_household(const experiment::SyntheticOptions& options, int index);
// The series a data spec names: its CSV file read, or the synthetic households generated.
std::vector<Series> load_data(const experiment::DataSpec& data);

}  // namespace wmtp::experiment
