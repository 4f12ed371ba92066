#pragma once
// DLinear (registry key dlinear), behind the ForecastModel interface of model.h.
#include <ATen/core/Generator.h>

#include <memory>

#include "experiment/recipe.h"
#include "trainer/model.h"

namespace wmtp::trainer {

// The fused model or, for Engine::kAutograd, the reference; parameters are drawn from gen.
std::unique_ptr<ForecastModel> make_dlinear(const experiment::Recipe& recipe, at::Generator& gen,
                                            const at::Device& device, Engine engine);

}  // namespace wmtp::trainer
