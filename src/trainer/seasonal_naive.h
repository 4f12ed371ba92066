#pragma once
// Seasonal-naive (registry key seasonal-naive), behind the ForecastModel interface of model.h.
#include <ATen/core/Generator.h>

#include <memory>

#include "experiment/recipe.h"
#include "trainer/model.h"

namespace wmtp::trainer {

// Forecasts WindowTensors::naive of each set and trains nothing; the arguments are unused.
std::unique_ptr<ForecastModel> make_seasonal_naive(const experiment::Recipe& recipe, at::Generator& gen,
                                                   const at::Device& device, Engine engine);

}  // namespace wmtp::trainer
