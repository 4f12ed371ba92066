#pragma once
// The peak metrics of the project, defined once (docs/ARCHITECTURE.md, "Metric definitions"). The trainer and the
// auditor link this code, so their definitions cannot drift; pape_definition_hash() names it.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace wmtp {

// Quantile with linear interpolation between order statistics (numpy's default method).
double quantile_linear(std::vector<double> values, double q);
// Population standard deviation (ddof = 0).
double population_std(const std::vector<double>& values);

// Peak-aware percentage error: 100 * mean over P of |y - yhat| / |y|, with
// P = { t : y[t] >= Q0.9(y) }. NaN when std(y) < 1e-8 (degenerate actuals).
double pape(const std::vector<double>& y, const std::vector<double>& yhat);
// Peak hit rate: |P ∩ Phat| / |P| with Phat = { t : yhat[t] >= Q0.9(yhat) }; a forecast with
// std < 1e-8 has no predicted peaks. NaN when std(y) < 1e-8.
double hit_rate(const std::vector<double>& y, const std::vector<double>& yhat);

// MSE and MAE over paired values.
double mean_squared_error(const std::vector<double>& y, const std::vector<double>& yhat);
double mean_absolute_error(const std::vector<double>& y, const std::vector<double>& yhat);

// The canonical definition payload and its 16-hex hash (the `pape_definition_hash` param).
const nlohmann::json& pape_definition_payload();
const std::string& pape_definition_hash();

}  // namespace wmtp
