#pragma once
// --shard auto: which shard of a plan this process trains, read from the scheduler's own
// variables, so a job array's script needs no arithmetic.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace wmtp::experiment {

// Reads one environment variable: nullopt when unset. std::getenv by default; a map in tests.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup process_environment();

// The shard as "i/n" (1 <= i <= n), from every source that is set:
//   WMTP_SHARD=i/n                     generic (1-based, as --shard)
//   SLURM_ARRAY_TASK_ID                Slurm job arrays: i = (ID - SLURM_ARRAY_TASK_MIN) /
//     with SLURM_ARRAY_TASK_COUNT,     SLURM_ARRAY_TASK_STEP (default 1) + 1, n = COUNT; ids may
//     SLURM_ARRAY_TASK_MIN             start at 0, 1 or any min (--array=1-8, --array=0-14:2)
//   JOB_COMPLETION_INDEX               Kubernetes Indexed Jobs (0-based): i = INDEX + 1, n =
//                                      shard_count (--shard-count), else WMTP_SHARD_COUNT
// shard_count, when given, must also agree with the Slurm count. InputError (exit 2) naming the
// variable when none is set, a value is not a number or out of range, a companion variable is
// missing, or two sources disagree.
std::string resolve_auto_shard(const std::optional<std::int64_t>& shard_count, const EnvLookup& env);

}  // namespace wmtp::experiment
