#include "experiment/shard.h"

#include <cstdlib>
#include <vector>

#include "core/errors.h"

namespace wmtp::experiment {
namespace {

constexpr const char* kWhat = "--shard auto: ";

struct Shard {
  std::int64_t index = 0;  // 1-based
  std::int64_t count = 0;
  std::string from;  // the variables it was read from, for messages
  std::string text() const { return std::to_string(index) + "/" + std::to_string(count); }
};

// A non-negative decimal integer (at most 9 digits: no overflow), else InputError naming the variable.
std::int64_t parse_count(const std::string& name, const std::string& value) {
  const bool digits = !value.empty() && value.size() <= 9 && value.find_first_not_of("0123456789") == std::string::npos;
  if (!digits) throw InputError(kWhat + name + "='" + value + "' is not a non-negative integer");
  return std::stoll(value);
}

std::optional<std::int64_t> read_count(const EnvLookup& env, const std::string& name) {
  const std::optional<std::string> value = env(name);
  if (!value) return std::nullopt;
  return parse_count(name, *value);
}

std::int64_t require_count(const EnvLookup& env, const std::string& name, const std::string& because) {
  const std::optional<std::int64_t> value = read_count(env, name);
  if (!value) throw InputError(kWhat + because + " is set but " + name + " is not");
  return *value;
}

std::optional<Shard> from_generic(const EnvLookup& env) {
  const std::optional<std::string> value = env("WMTP_SHARD");
  if (!value) return std::nullopt;
  const std::size_t slash = value->find('/');
  if (slash == std::string::npos) throw InputError(std::string(kWhat) + "WMTP_SHARD='" + *value + "': expected i/n");
  Shard s{parse_count("WMTP_SHARD", value->substr(0, slash)), parse_count("WMTP_SHARD", value->substr(slash + 1)),
          "WMTP_SHARD"};
  if (s.count < 1 || s.index < 1 || s.index > s.count) {
    throw InputError(std::string(kWhat) + "WMTP_SHARD='" + *value + "': expected i/n with 1 <= i <= n, e.g. 2/4");
  }
  return s;
}

std::optional<Shard> from_slurm(const EnvLookup& env) {
  const std::optional<std::int64_t> id = read_count(env, "SLURM_ARRAY_TASK_ID");
  if (!id) return std::nullopt;
  const std::int64_t count = require_count(env, "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_ID");
  const std::int64_t min = require_count(env, "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_ID");
  const std::int64_t step = read_count(env, "SLURM_ARRAY_TASK_STEP").value_or(1);
  if (count < 1) throw InputError(std::string(kWhat) + "SLURM_ARRAY_TASK_COUNT=0: expected at least 1");
  if (step < 1) throw InputError(std::string(kWhat) + "SLURM_ARRAY_TASK_STEP=0: expected at least 1");
  const std::int64_t offset = *id - min;
  if (offset < 0 || offset % step != 0 || offset / step >= count) {
    throw InputError(kWhat + std::string("SLURM_ARRAY_TASK_ID=") + std::to_string(*id) +
                     " is not one of the array's ids (SLURM_ARRAY_TASK_MIN=" + std::to_string(min) +
                     ", SLURM_ARRAY_TASK_STEP=" + std::to_string(step) +
                     ", SLURM_ARRAY_TASK_COUNT=" + std::to_string(count) +
                     "): --shard auto needs an evenly spaced --array range such as 1-8 or 0-14:2");
  }
  return Shard{offset / step + 1, count, "SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT"};
}

std::optional<Shard> from_kubernetes(const std::optional<std::int64_t>& shard_count, const EnvLookup& env) {
  const std::optional<std::int64_t> index = read_count(env, "JOB_COMPLETION_INDEX");
  if (!index) return std::nullopt;
  std::optional<std::int64_t> count = shard_count;
  std::string count_from = "--shard-count";
  if (!count) {
    count = read_count(env, "WMTP_SHARD_COUNT");
    count_from = "WMTP_SHARD_COUNT";
  }
  if (!count) {
    throw InputError(std::string(kWhat) +
                     "JOB_COMPLETION_INDEX is set but the shard count is not: pass --shard-count (the Job's "
                     "completions) or set WMTP_SHARD_COUNT");
  }
  if (*count < 1) throw InputError(kWhat + count_from + "=0: expected at least 1");
  if (*index >= *count) {
    throw InputError(kWhat + std::string("JOB_COMPLETION_INDEX=") + std::to_string(*index) + " is not below " +
                     count_from + "=" + std::to_string(*count) + " (the index is 0-based)");
  }
  return Shard{*index + 1, *count, "JOB_COMPLETION_INDEX/" + count_from};
}

}  // namespace

EnvLookup process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

std::string resolve_auto_shard(const std::optional<std::int64_t>& shard_count, const EnvLookup& env) {
  std::vector<Shard> found;
  for (const std::optional<Shard>& s : {from_generic(env), from_slurm(env), from_kubernetes(shard_count, env)}) {
    if (s) found.push_back(*s);
  }
  if (found.empty()) {
    throw InputError(std::string(kWhat) +
                     "none of WMTP_SHARD (i/n), SLURM_ARRAY_TASK_ID (a Slurm job array) or JOB_COMPLETION_INDEX (a "
                     "Kubernetes Indexed Job) is set");
  }
  for (const Shard& s : found) {
    if (s.text() != found.front().text()) {
      throw InputError(kWhat + found.front().from + " give " + found.front().text() + " but " + s.from + " give " +
                       s.text());
    }
    if (shard_count && *shard_count != s.count) {
      throw InputError(kWhat + std::string("--shard-count ") + std::to_string(*shard_count) + " but " + s.from +
                       " give " + s.text());
    }
  }
  return found.front().text();
}

}  // namespace wmtp::experiment
