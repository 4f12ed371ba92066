#pragma once
// Files of configs/ and schemas/ compiled into the binaries, so the defaults work from any
// directory (wmtp-train with no flags, the auditor's pre-registration, the golden tensors).
#include <string>
#include <string_view>
#include <vector>

namespace wmtp {

// Content of an embedded file by its path relative to the project root (e.g.
// "configs/plans/smoke.json"); nullptr when there is none.
const std::string* embedded_file(std::string_view relative_path);
std::vector<std::string> embedded_file_names();

}  // namespace wmtp
